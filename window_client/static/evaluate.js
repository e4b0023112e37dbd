/*
 * The evaluator page (/evaluate/<device>): wakes when its window finishes a ticket
 * (ticket.finished on the hall log), offers five levels, asks a reason for the bottom
 * two (差评), records through POST /api/v1/tickets/{id}/evaluation with the device's
 * token, thanks the visitor, and goes back to idle; unanswered, it times out politely
 * and records nothing.
 */
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const body = document.body;
  const device = body.dataset.device;
  const windows = new Set(body.dataset.windows.split(",").filter(Boolean).map(Number));
  const timeoutS = Number(body.dataset.timeoutS);
  const thanksS = Number(body.dataset.thanksS);
  const TOKEN_KEY = "hall.evaluator." + device;
  let token = hallDevice.token(TOKEN_KEY);
  let hall = null; // HallClient

  const page = { current: null, score: null, deadline: 0, back: null, sending: false, revoked: false };

  function show(view) {
    for (const name of ["idle", "rate", "reason", "thanks"]) $(name + "-view").hidden = name !== view;
    body.dataset.view = view;
  }

  function idle() {
    page.current = null;
    page.score = null;
    page.deadline = 0;
    show("idle");
  }

  /* The token was revoked (or is not valid): forget it, stop, and say so until an admin comes. */
  function revoked() {
    if (page.revoked) return;
    page.revoked = true;
    const [zh, en] = hallDevice.revoked(TOKEN_KEY);
    token = null;
    if (hall && hall.socket) hall.socket.disconnect();
    $("conn").classList.remove("up");
    idle();
    const box = $("revoked");
    box.textContent = zh + " ";
    const small = document.createElement("span");
    small.className = "en";
    small.textContent = "(" + en + ")";
    box.append(small);
    box.hidden = false;
  }
  hallFetch.onUnauthorized((_error, used) => { if (used && used === token) revoked(); });

  function wake(event, state) {
    if (page.revoked || !windows.has(event.window)) return;
    clearTimeout(page.back);
    const queue = state && state.queues && state.queues[event.service];
    page.current = { id: event.ticket_id, number: event.number, window: event.window };
    page.score = null;
    $("rate-number").textContent = event.number;
    $("rate-service").textContent = `${event.window}号窗口${queue ? " · " + queue.name : ""}`;
    for (const chip of document.querySelectorAll(".reason")) chip.setAttribute("aria-pressed", "false");
    $("reason-error").textContent = "";
    page.deadline = Date.now() + timeoutS * 1000;
    show("rate");
  }

  function thanks(title, en, note) {
    page.current = null;
    page.deadline = 0;
    $("thanks-title").textContent = title;
    $("thanks-en").textContent = en;
    $("thanks-note").textContent = note || "";
    show("thanks");
    clearTimeout(page.back);
    page.back = setTimeout(idle, thanksS * 1000);
  }

  async function submit(score, reasons) {
    if (!page.current || page.sending) return;
    const ticket = page.current;
    page.sending = true;
    try {
      await hallFetch(`/tickets/${ticket.id}/evaluation`, { method: "POST", token, body: { score, reasons } });
      thanks("感谢您的评价！", "Thank you for your rating!", score <= 2 ? "我们会尽快回访改进 (we will follow up)" : "");
    } catch (error) {
      if (page.revoked) return;
      if (error.status === 409 && error.code === "illegal_transition") {
        thanks("感谢您的评价！", "Thank you — this visit was already rated.", error.message);
      } else if (error.status) {
        thanks("评价未能保存", "The rating could not be saved.", error.message);
      } else {
        // No answer: stay, so the visitor can press again (a repeat is refused as already rated).
        $("reason-error").textContent = "网络故障，请再按一次 (network error: press again)";
        if (page.score === null || page.score > 2) show("rate");
      }
    } finally {
      page.sending = false;
    }
  }

  for (const button of document.querySelectorAll(".score")) {
    button.addEventListener("click", () => {
      if (!page.current) return;
      const score = Number(button.dataset.score);
      page.deadline = Date.now() + timeoutS * 1000;
      if (score <= 2) {
        page.score = score;
        show("reason");
      } else {
        page.score = score;
        submit(score, []);
      }
    });
  }

  for (const chip of document.querySelectorAll(".reason")) {
    chip.addEventListener("click", () => {
      chip.setAttribute("aria-pressed", chip.getAttribute("aria-pressed") === "true" ? "false" : "true");
      $("reason-error").textContent = "";
      page.deadline = Date.now() + timeoutS * 1000;
    });
  }

  $("reason-back").addEventListener("click", () => {
    page.deadline = Date.now() + timeoutS * 1000;
    show("rate");
  });

  $("reason-submit").addEventListener("click", () => {
    const reasons = [...document.querySelectorAll('.reason[aria-pressed="true"]')].map((c) => c.dataset.reason);
    if (!reasons.length) {
      $("reason-error").textContent = "请至少选择一项原因 (choose at least one reason)";
      return;
    }
    submit(page.score, reasons);
  });

  setInterval(() => {
    if (!page.deadline) return;
    const left = Math.ceil((page.deadline - Date.now()) / 1000);
    const text = `${left} 秒后自动返回 (returns in ${left} s)`;
    $("countdown").textContent = text;
    $("countdown-reason").textContent = text;
    if (left <= 0 && !page.sending) thanks("感谢您的光临！", "Thank you for coming!", "祝您生活愉快 (have a nice day)");
  }, 250);

  show("idle");
  if (!token) {
    $("no-token").hidden = false;
    return;
  }
  hall = new HallClient({
    auth: { token },
    onConnection: (up, error) => {
      if (hallDevice.refusedToken(error)) revoked();
      else $("conn").classList.toggle("up", up);
    },
  });
  hall.on("ticket.finished", wake);
  hall.connect();
  window.hallEvaluator = hall; // for the curious on site: the page's live state
})();
