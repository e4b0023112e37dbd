// Visitors' phones following their tickets: one Socket.IO connection per ticket token, idle.
// Reads ticket tokens (one a line) from the file given, connects them in batches, then speaks
// JSON lines with benchmarks/idle_sockets.py: "connected", and on "status" (stdin) how many are
// still connected and how many got the call the bench makes ("ticket.called"); "stop" ends.
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { readFileSync } from "node:fs";

const require = createRequire(new URL("../hall_server/web/frontend/package.json", import.meta.url));
const { io } = require("socket.io-client");

const [url, tokenFile] = process.argv.slice(2);
const tokens = readFileSync(tokenFile, "utf8").split("\n").filter(Boolean);
const BATCH = 200;
const say = (message) => process.stdout.write(JSON.stringify(message) + "\n");

const sockets = [];
let calls = 0; // sockets that got a ticket.called
let disconnects = 0;
let refused = 0;

function connectOne(ticket) {
  return new Promise((resolve) => {
    const socket = io(url + "/hall", {
      forceNew: true, // one connection per phone
      transports: ["websocket"],
      reconnection: false,
      timeout: 60000,
      auth: { ticket },
    });
    let called = false;
    socket.on("event", (data) => {
      if (!called && data && data.type === "ticket.called") { called = true; calls += 1; }
    });
    socket.on("disconnect", () => { disconnects += 1; });
    socket.once("connect", () => { sockets.push(socket); resolve(); });
    socket.once("connect_error", () => { refused += 1; resolve(); });
  });
}

const started = process.hrtime.bigint();
for (let first = 0; first < tokens.length; first += BATCH) {
  await Promise.all(tokens.slice(first, first + BATCH).map(connectOne));
}
say({ connected: sockets.length, refused, seconds: Number(process.hrtime.bigint() - started) / 1e9 });

createInterface({ input: process.stdin }).on("line", (line) => {
  const command = line.trim();
  if (command === "status") {
    const up = sockets.filter((s) => s.connected).length;
    say({ status: true, up, calls, disconnects, memory_mb: process.memoryUsage().rss / 2 ** 20 });
  } else if (command === "stop") {
    for (const socket of sockets) socket.close();
    process.stdout.write(JSON.stringify({ stopped: true }) + "\n", () => process.exit(0));
  }
});
