/*
 * The visitor's mobile ticket (/t/<token>): live status, people ahead, ETA, the window when
 * called (with vibration and a sound when the browser allows), and a cancel button.
 *
 * It connects to /hall with auth {ticket: token} and re-reads
 * GET /api/v1/public/tickets/<token> whenever an event concerns this ticket or its service.
 */
(function (global) {
  "use strict";

  const token = document.body.dataset.token;
  const card = document.getElementById("ticket");
  let ticket = null;
  let audio = null; // an AudioContext, once the visitor allowed sound with a tap
  let announcedCall = null; // called_at of the call we already signalled

  // An ended ticket in plain English (never the internal state names such as "no_show").
  const ENDED_EN = {
    done: "Finished", cancelled: "Cancelled", expired: "Expired at the end of the day",
    no_show: "Missed: called while you were away", held: "On hold",
  };

  function esc(text) {
    return String(text == null ? "" : text).replace(/[&<>"']/g, (c) => (
      { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  /* The wait in words, the rule the kiosk and the TV use (eta.js); whether it ends past
     closing is the hall's answer (eta_past_closing), not the phone's clock. */
  function waitWords(t) {
    return global.hallEta.words(t.eta_s, t.eta_range_s, t.eta_past_closing);
  }

  /* The figures large and their words small, so "约1小时10分–1小时40分" fits half the
     phone's width; it wraps after the dash, never inside "1小时40分". */
  function waitValue(said) {
    if (said.kind === "none") return "—";
    if (said.kind === "closing") return `<span class="note">${esc(said.zh)}</span>`;
    return said.zh.split(/(?<=–)/).map((part) => `<span class="nw">${
      part.split(/(\d+)/).map((bit, i) => (i % 2 ? esc(bit) : bit ? `<span class="unit">${esc(bit)}</span>` : "")).join("")
    }</span>`).join("");
  }

  function keepWhole(text) {
    return text.split(/(?<=–)/).map((part) => `<span class="nw">${esc(part)}</span>`).join("");
  }

  async function load() {
    try {
      const fresh = await hallFetch("/public/tickets/" + encodeURIComponent(token));
      const callNow = ["called", "serving"].includes(fresh.status) && fresh.called_at !== announcedCall;
      ticket = fresh;
      render();
      if (callNow && fresh.status === "called") signal();
      if (callNow) announcedCall = fresh.called_at;
    } catch (error) {
      show(error.status === 404
        ? `<div class="ended">号票不存在或已失效<br><span class="en">No such ticket</span></div>`
        : `<div class="error">暂时无法连接，稍后自动重试 <span class="en">Offline, retrying</span></div>`);
    }
  }

  /* Draw the card, unless it already shows exactly that: an answer that changes nothing (a
     reconnect, the minute's re-read) does not redraw it under the visitor's finger. */
  let shown = null;
  function show(html) {
    if (html === shown) return false;
    shown = html;
    card.innerHTML = html;
    return true;
  }

  function render() {
    const t = ticket;
    const said = waitWords(t);
    let middle = "";
    if (t.status === "waiting") {
      middle = `<div class="facts">
          <div class="fact"><div class="label">前面等候 <span class="en">ahead</span></div><div class="value" id="ahead">${t.people_ahead}</div></div>
          <div class="fact"><div class="label">预计等候 <span class="en">wait</span></div><div class="value" id="eta">${waitValue(said)}</div>${
            said.en ? `<div class="en" id="eta-en">${keepWhole(said.en)}</div>` : ""}</div>
        </div>
        <div class="where">请在 ${esc(t.floor)}楼 ${esc(t.zone)} 等候叫号<br><span class="en">Please wait at Floor ${esc(t.floor)}, ${esc(t.zone)}</span></div>
        <button class="cancel" id="cancel" type="button">取消排队 <span class="en">Cancel my ticket</span></button>`;
    } else if (t.status === "called" || t.status === "serving") {
      // A hall on several floors names the window's floor ("请到 2楼 16 号窗口办理").
      const floorZh = t.window_floor ? `${esc(t.window_floor)}楼 ` : "";
      const floorEn = t.window_floor ? `, floor ${esc(t.window_floor)}` : "";
      middle = `<div class="called" id="called">请到 ${floorZh}${esc(t.window)} 号窗口办理<br><span class="en">Please go to window ${esc(t.window)}${floorEn}</span></div>`;
    } else if (t.status === "held") {
      middle = `<div class="where">补件中：材料备齐后请回到 ${esc(t.window)} 号窗口<br><span class="en">On hold: return to window ${esc(t.window)} with your documents</span></div>`;
    } else {
      middle = `<div class="ended">${esc(t.state_name)}<br><span class="en">${esc(ENDED_EN[t.status] || "")}</span></div>`;
    }
    const drawn = show(`<div class="service">${esc(t.service_name)}</div>
      <div class="number" id="number">${esc(t.number)}</div>
      <div class="state" id="state">${esc(t.state_name)}</div>
      ${t.priority_kind ? `<div class="where">${esc(t.priority_kind === "预约" ? "预约优先" : "绿色通道 · " + t.priority_kind)}</div>` : ""}
      ${middle}
      <div class="error" id="error"></div>`);
    const cancel = document.getElementById("cancel");
    if (drawn && cancel) cancel.addEventListener("click", onCancel);
  }

  async function onCancel() {
    if (!window.confirm("确定取消排队吗？取消后号码作废。\nCancel your ticket? The number will be void.")) return;
    try {
      await hallFetch("/public/tickets/" + encodeURIComponent(token) + "/cancel", { method: "POST" });
    } catch (error) {
      document.getElementById("error").textContent = error.message;
    }
    load();
  }

  /* Vibrate and chime: the browser may refuse either (no gesture yet, no vibrator). */
  function signal() {
    if (navigator.vibrate) navigator.vibrate([400, 150, 400, 150, 400]);
    if (!audio) return;
    const now = audio.currentTime;
    for (const [i, freq] of [[0, 880], [1, 660], [2, 880]]) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.25, now + i * 0.35);
      gain.gain.exponentialRampToValueAtTime(0.001, now + i * 0.35 + 0.3);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + i * 0.35);
      osc.stop(now + i * 0.35 + 0.32);
    }
  }

  document.getElementById("sound").addEventListener("click", () => {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (Ctx) audio = new Ctx();
    document.getElementById("sound-hint").hidden = true;
  });

  let timer = null;
  function loadSoon() { clearTimeout(timer); timer = setTimeout(load, 250); }

  const conn = document.getElementById("conn");
  const connText = document.getElementById("conn-text");
  const hall = new HallClient({
    auth: { ticket: token },
    onConnection: (up) => {
      conn.classList.toggle("up", up);
      connText.innerHTML = up ? '实时更新中 <span class="en">live</span>' : '重新连接中 <span class="en">reconnecting</span>';
      if (up) loadSoon();
    },
    onChange: (_state, event) => {
      if (!event || !ticket) return;
      if (event.ticket_id === ticket.id || (event.type.startsWith("ticket.") && event.service === ticket.service)) loadSoon();
    },
  });
  hall.connect();
  load();
  setInterval(load, 60000); // a slow safety net; events do the real work
  window.mobileTicket = { load, get ticket() { return ticket; } };
})(window);
