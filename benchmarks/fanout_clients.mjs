// N display clients on one Node.js event loop, with the real socket.io-client (npm).
// Speaks JSON lines with benchmarks/call_fanout.py: "connected", "all" (every client has
// an event), "arrivals" (when asked with "stop" on stdin). Times are CLOCK_MONOTONIC
// seconds, the clock Python's time.monotonic() reads on Linux.
import { createRequire } from "node:module";
import { createInterface } from "node:readline";

const require = createRequire(new URL("../hall_server/web/frontend/package.json", import.meta.url));
const { io } = require("socket.io-client");

const [url, token, countText] = process.argv.slice(2);
const count = Number(countText);
const TIMED = "ticket.called";
const SETTLE = "ticket.finished";
const BATCH = 50;
const now = () => Number(process.hrtime.bigint()) / 1e9;
const say = (message) => process.stdout.write(JSON.stringify(message) + "\n");

const arrivals = {}; // ticket id -> [arrival times]
// The public stream (docs/API.md, "Two audiences"): each message's `prev` must be the last
// public event this display has, or it lost one; counts may come late (older than an event).
const stream = { gaps: 0, counts: 0, issued: 0 };
const lastCounts = new Map(); // socket -> {seq, waiting}
const seen = new Map(); // "kind:ticket" -> clients that got it
const sockets = [];

function onEvent(data) {
  const at = now();
  const kind = data && data.type;
  if ((kind !== TIMED && kind !== SETTLE) || typeof data.ticket_id !== "number") return;
  if (kind === TIMED) (arrivals[data.ticket_id] ||= []).push(at);
  const key = kind + ":" + data.ticket_id;
  const n = (seen.get(key) || 0) + 1;
  seen.set(key, n);
  if (n === sockets.length) say({ all: kind, ticket: data.ticket_id });
}

function connectOne() {
  return new Promise((resolve, reject) => {
    const socket = io(url + "/hall", {
      forceNew: true, // one connection per client, as every screen has its own
      transports: ["websocket"],
      reconnection: false,
      auth: { token },
    });
    let base = null; // the snapshot's seq, until the first event
    let lastPublic = null;
    socket.on("snapshot", (snap) => { base = snap.seq; lastPublic = null; });
    socket.on("event", (data) => {
      if (data && data.type === "ticket.issued") stream.issued += 1;
      if (data && typeof data.prev === "number") {
        const have = lastPublic === null ? base : lastPublic;
        if (data.type === "queue.counts") {
          stream.counts += 1;
          if (data.seq >= have && data.prev > have) stream.gaps += 1;
          const last = lastCounts.get(socket);
          if (!last || data.seq >= last.seq) lastCounts.set(socket, { seq: data.seq, waiting: data.waiting });
        } else {
          if (data.prev > have) stream.gaps += 1;
          lastPublic = data.seq;
        }
      }
      onEvent(data);
    });
    socket.once("connect", () => { sockets.push(socket); resolve(); });
    socket.once("connect_error", (error) => reject(error));
  });
}

const started = now();
for (let first = 0; first < count; first += BATCH) {
  const batch = [];
  for (let i = first; i < Math.min(first + BATCH, count); i++) batch.push(connectOne());
  await Promise.all(batch);
}
say({ connected: sockets.length, seconds: now() - started });
const cpuStart = process.cpuUsage();

createInterface({ input: process.stdin }).on("line", (line) => {
  if (line.trim() !== "stop") return;
  const cpu = process.cpuUsage(cpuStart);
  const last = JSON.stringify({
    arrivals, clients: sockets.length, cpu: (cpu.user + cpu.system) / 1e6,
    stream: { ...stream, last_counts: sockets.map((s) => lastCounts.get(s) || { seq: -1, waiting: {} }) },
  });
  for (const socket of sockets) socket.close();
  // exit only once the pipe has taken the whole line: a large write to a pipe is async
  process.stdout.write(last + "\n", () => process.exit(0));
});
