/*
 * The hall TV page: the current call, recent calls, waiting per service, notices, clock,
 * connection state, and the announcements of calls (display/static/announce.js).
 *
 * State for tests and for people debugging a screen lives on window.hallDisplay (what the
 * page shows) and window.hallAudio (the announcement queue).
 */
(function (global) {
  "use strict";

  const doc = global.document;
  const root = doc.getElementById("tv");
  const device = root.dataset.device;
  const $ = (id) => doc.getElementById(id);
  const FLASH_MS = 5000;
  const PAGE_S = 6; // a waiting list longer than its card shows each page this long (options.page_s)

  const page = {
    device,
    config: null,
    connected: false,
    seq: null,
    current: null, // {seq, number, window}
    recent: [], // [{seq, number, window, kind}] newest first, as shown
    waiting: {}, // service code -> count, as shown
    flashes: 0,
    error: "",
    revoked: false, // the hall refused this display's token: it stopped and says so
    shownAt: {}, // number -> epoch ms of the first frame painted with it as the current call
  };
  global.hallDisplay = page;

  let offsetMs = 0; // server clock minus this screen's clock
  let flashTimer = null;
  let scopeWindows = new Set();

  const TOKEN_KEY = "hall-display-token:" + device;
  let token = global.hallDevice.token(TOKEN_KEY);
  let hall = null; // HallClient
  let voiceWindows = new Set(); // the windows whose calls this display's speaker reads out
  const voice = new global.AnnouncementQueue({
    fetchWav: (call, form) => {
      const floor = floorOf(call);
      const path = `/display/voice?number=${encodeURIComponent(call.number)}&window=${call.window}` + (floor ? `&floor=${floor}` : "") + `&form=${form}`;
      return global.hallFetch(path, { token, as: "blob" });
    },
    fetchChime: () => global.hallFetch("/display/voice/chime", { token, as: "blob" }),
    // When its turn comes: is this call still the one at its window? (finished, called again)
    staleReason: (call) => {
      const w = hall && hall.state && hall.state.windows[call.window];
      if (!w || call.ticket_id == null) return null;
      if (!w.ticket) return "done";
      if (w.ticket.id !== call.ticket_id) return "superseded";
      return w.ticket.status === "serving" ? "at window" : null;
    },
    now: () => Date.now() + offsetMs,
    onChange: renderVoice,
  });
  global.hallAudio = voice.state;

  function text(id, value) { $(id).textContent = value; }

  function showMessage(zh, en) {
    const box = $("message");
    box.hidden = false;
    box.innerHTML = "";
    const main = doc.createElement("div");
    main.textContent = zh;
    const small = doc.createElement("div");
    small.className = "en";
    small.textContent = en;
    box.append(main, small);
  }

  /* The token was revoked (or is not valid): forget it, stop, and say so until an admin comes. */
  function revoked() {
    if (page.revoked) return;
    page.revoked = true;
    const [zh, en] = global.hallDevice.revoked(TOKEN_KEY);
    token = null;
    if (hall && hall.socket) hall.socket.disconnect();
    renderConnection(false);
    $("offline").hidden = true; // not "reconnecting": it will not
    text("conn-text", "已停用");
    text("conn-text-en", "Revoked");
    showMessage(zh, en);
  }
  global.hallFetch.onUnauthorized((_error, used) => { if (used && used === token) revoked(); });

  /* ---------- clock and connection ---------- */

  let clockFormat = null;
  function tickClock() {
    // The hall's time zone, not the screen PC's: a TV set to UTC still shows Beijing time.
    const now = new Date(Date.now() + offsetMs);
    const zone = page.config && page.config.timezone;
    if (!clockFormat || clockFormat.zone !== zone) {
      const options = { year: "numeric", month: "numeric", day: "numeric", weekday: "short", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" };
      if (zone) options.timeZone = zone;
      clockFormat = { zone, format: new Intl.DateTimeFormat("zh-CN", options) };
    }
    const p = Object.fromEntries(clockFormat.format.formatToParts(now).map((part) => [part.type, part.value]));
    text("clock-time", `${p.hour}:${p.minute}:${p.second}`);
    text("clock-date", `${p.year}年${p.month}月${p.day}日 ${p.weekday}`);
  }

  function renderConnection(up) {
    page.connected = up;
    $("conn").dataset.up = String(up);
    $("conn-dot").classList.toggle("up", up);
    text("conn-text", up ? "已连接" : "连接中断");
    text("conn-text-en", up ? "Online" : "Offline");
    $("offline").hidden = up;
  }

  /* ---------- what the hall shows ---------- */

  function inScope(call) { return scopeWindows.has(Number(call.window)); }

  /* The floor named with a call to this window (another floor than this screen's), or null. */
  function floorOf(call) {
    const floors = (page.config && page.config.window_floors) || {};
    return floors[String(call.window)] || null;
  }

  function windowLabel(call) {
    // The hall's own wording (hall.voice.template, "请{number}号到{floor}{window}号窗口办理");
    // a template without {floor} still names the floor, just before the window.
    let template = (page.config.voice && page.config.voice.template) || "请{number}号到{floor}{window}号窗口办理";
    if (!template.includes("{floor}")) template = template.split("{window}").join("{floor}{window}");
    const floor = floorOf(call);
    const zh = template.split("{number}").join(call.number).split("{floor}").join(floor ? `${floor}楼` : "").split("{window}").join(String(call.window));
    return { zh, en: floor ? `Please go to window ${call.window}, floor ${floor}` : `Please go to window ${call.window}` };
  }

  /* Shrink a line until it fits its box (a long sentence with a floor), never below 48 px. */
  function fit(el, largest) {
    el.style.fontSize = "";
    for (let size = largest; el.scrollWidth > el.clientWidth && size > 48; size -= 4) el.style.fontSize = `${size - 4}px`;
  }

  function render(state) {
    page.seq = state.seq;
    const limit = page.config.recent_calls;
    const calls = state.recent_calls.filter(inScope).slice(0, limit + 1);
    page.recent = calls.map((c) => ({ seq: c.seq, number: c.number, window: c.window, kind: c.type === "ticket.recalled" ? "recall" : "call" }));
    page.current = page.recent[0] || null;

    if (page.current && !(page.current.number in page.shownAt)) stampShown(page.current.number);

    const current = $("current");
    current.dataset.number = page.current ? page.current.number : "";
    text("current-number", page.current ? page.current.number : "—");
    const label = page.current ? windowLabel(page.current) : { zh: "\u00a0", en: "\u00a0" };
    text("current-window", label.zh);
    text("current-window-en", label.en);
    fit($("current-window"), 80);
    fit($("current-window-en"), 44);
    // A recall (重呼) is marked on the main panel: the visitor was called before.
    current.dataset.kind = page.current ? page.current.kind : "";
    $("current-recall").hidden = !(page.current && page.current.kind === "recall");

    const list = $("recent");
    list.replaceChildren(...page.recent.slice(1, limit + 1).map((call) => {
      const li = doc.createElement("li");
      li.dataset.number = call.number;
      const num = doc.createElement("span");
      num.className = "num";
      num.textContent = call.number;
      const win = doc.createElement("span");
      win.className = "win";
      const floor = floorOf(call);
      win.textContent = `${floor ? floor + "楼" : ""}${call.window}号窗口`;
      if (call.kind === "recall") {
        const tag = doc.createElement("span");
        tag.className = "tag";
        tag.textContent = "重呼";
        win.append(tag);
      }
      li.append(num, win);
      return li;
    }));

    const waiting = $("waiting");
    page.waiting = {};
    waiting.replaceChildren(...page.config.services.map((code) => state.queues[code]).filter(Boolean).map((q) => {
      page.waiting[q.service] = q.waiting;
      const li = doc.createElement("li");
      li.dataset.service = q.service;
      li.classList.toggle("closed", q.open === false);
      const name = doc.createElement("div");
      name.className = "svc";
      name.textContent = `${q.name}`;
      const en = doc.createElement("span");
      en.className = "en";
      en.textContent = `${q.name_en}${q.zone ? " · " + q.zone : ""}`;
      name.append(en);
      const count = doc.createElement("div");
      count.className = "count";
      count.textContent = String(q.waiting);
      const unit = doc.createElement("span");
      unit.className = "unit";
      unit.textContent = "人";
      count.append(unit);
      const wait = doc.createElement("div");
      wait.className = "eta";
      showEta(wait, q);
      li.append(name, count, wait);
      return li;
    }));

    paginateWaiting();
    renderNotices(state.notices);
  }

  /* ---------- the wait a visitor taking a ticket now is told (its 80 % range) ---------- */

  const ETA_REFRESH_S = 60; // the counts come live; the waits are read again each minute
  let etasRead = false;

  /* The wait in words (kiosk/static/eta.js: the rule the kiosk, the phone and the paper
     ticket share); whether it ends past closing is the hall's answer (eta_past_closing). */
  function etaWords(q) {
    if (!q || q.eta_s == null) return null;
    const m = Math.max(1, Math.round(q.eta_s / 60));
    if (m <= 1 && (!q.eta_range_s || q.eta_range_s[1] < 90)) return { zh: "预计即到", en: "next" };
    const said = global.hallEta.words(q.eta_s, q.eta_range_s, q.eta_past_closing);
    if (said.kind === "none") return null;
    // "预计等候 5–9分钟", "预计等候约8小时30分钟", "预计等候超出今日办理时间"
    return { zh: said.kind === "range" ? `预计等候 ${said.zh.replace(/^约/, "")}` : `预计等候${said.zh}`, en: said.en };
  }

  /* The ETA line under a service, across the whole row: Chinese, then "· English" on the
     same line when both fit, else English on a line of its own — never cut, never smaller
     than the rest of the table (40 px). */
  function showEta(cell, q) {
    const said = etaWords(q);
    cell.replaceChildren();
    cell.hidden = !said;
    if (!said) return;
    const zh = doc.createElement("span");
    zh.className = "en eta-zh";
    zh.textContent = said.zh;
    const en = doc.createElement("span");
    en.className = "en eta-en";
    en.textContent = said.en;
    cell.append(zh, en);
  }

  /* "· " before the English only while it shares the Chinese line (rows must be shown). */
  function markWrapped(cell) {
    const en = cell.querySelector(".eta-en");
    if (en) en.classList.toggle("wrapped", en.offsetTop > cell.firstChild.offsetTop);
  }

  async function refreshEtas() {
    try {
      const answer = await global.hallFetch("/services", { token });
      const queues = hall && hall.state ? hall.state.queues : {};
      for (const s of answer.services || []) {
        if (queues[s.code]) {
          Object.assign(queues[s.code], { eta_s: s.eta_s, eta_range_s: s.eta_range_s, eta_past_closing: s.eta_past_closing });
        }
      }
      for (const li of $("waiting").children) {
        const cell = li.querySelector(".eta");
        if (cell) showEta(cell, queues[li.dataset.service]);
      }
      paginateWaiting(); // a line that now wraps makes its row taller
    } catch (_err) {
      // keep the waits shown; the next minute tries again
    }
  }

  /* ---------- the waiting list: pages that fit the card ---------- */

  const pager = { index: 0, count: 1, timer: null };
  page.waitingPages = pager;

  /* Split the rows into pages that fit the card; show the current page and "1/3". */
  function paginateWaiting() {
    const list = $("waiting");
    const rows = Array.from(list.children);
    rows.forEach((row) => { row.hidden = false; });
    rows.forEach((row) => { const cell = row.querySelector(".eta"); if (cell && !cell.hidden) markWrapped(cell); });
    // The card's bottom less its padding, from the list's top: what one page may fill.
    const room = list.parentElement.getBoundingClientRect().bottom - 20 - list.getBoundingClientRect().top;
    const pages = [];
    let used = 0;
    for (const row of rows) {
      const height = row.getBoundingClientRect().height;
      if (!pages.length || used + height > room) { pages.push([]); used = 0; }
      pages[pages.length - 1].push(row);
      used += height;
    }
    pager.count = Math.max(1, pages.length);
    if (pager.index >= pager.count) pager.index = 0;
    pages.forEach((rowsOfPage, index) => rowsOfPage.forEach((row) => { row.hidden = index !== pager.index; }));
    const label = $("waiting-page");
    label.hidden = pager.count < 2;
    label.textContent = `${pager.index + 1}/${pager.count}`;
    if (pager.count > 1 && !pager.timer) {
      const seconds = Number((page.config.options || {}).page_s) || PAGE_S;
      pager.timer = setInterval(() => { pager.index = (pager.index + 1) % pager.count; paginateWaiting(); }, seconds * 1000);
    } else if (pager.count < 2 && pager.timer) {
      clearInterval(pager.timer);
      pager.timer = null;
    }
  }

  /* When a call first reached the screen (the next painted frame): the latency benchmark reads it. */
  function stampShown(number) {
    page.shownAt[number] = null;
    global.requestAnimationFrame(() => {
      page.shownAt[number] = global.performance.timeOrigin + global.performance.now();
      const numbers = Object.keys(page.shownAt);
      if (numbers.length > 500) delete page.shownAt[numbers[0]];
    });
  }

  let noticesShown = null;
  function renderNotices(notices) {
    const joined = notices.join("　　　");
    if (joined === noticesShown) return; // restarting the scroll on every event would jump
    noticesShown = joined;
    const track = $("notices");
    track.textContent = joined;
    // About 120 px a second whatever the length: long notices scroll as fast as short ones.
    track.style.animationDuration = `${Math.max(12, (joined.length * 38 + 1920) / 120)}s`;
  }

  function flash() {
    const current = $("current");
    current.classList.remove("flash");
    void current.offsetWidth; // restart the animation for a call that follows quickly
    current.classList.add("flash");
    page.flashes += 1;
    clearTimeout(flashTimer);
    flashTimer = setTimeout(() => current.classList.remove("flash"), FLASH_MS);
  }

  function renderVoice(state) {
    const box = $("voice");
    box.dataset.enabled = String(state.enabled);
    $("voice-text").textContent = state.enabled ? "语音播报已开启 · Voice on" : state.message || "语音播报已关闭 · Voice off";
    $("unlock").hidden = !state.blocked;
  }

  function announce(event) {
    if (!inScope(event)) return;
    flash();
    const call = { seq: event.seq, number: event.number, window: event.window, kind: event.type === "ticket.recalled" ? "recall" : "call", ticket_id: event.ticket_id, at: Date.parse(event.at) };
    // The queue plans the reading (announce.js): stale or superseded calls are shown, not read.
    if (voiceWindows.has(Number(event.window))) voice.push(call);
  }

  /* How this display's speaker reads calls (announce.js); ?announce=sequential: the old way. */
  function configureVoice(config) {
    const v = config.voice;
    voiceWindows = new Set(v.windows || config.windows);
    const mode = new URLSearchParams(global.location.search).get("announce") || v.mode || "plan";
    voice.configure({ mode, chime: v.chime, repeat: v.repeat, repeatGapMs: v.repeat_gap_ms, staleS: v.stale_s, withinS: v.within_s });
  }

  /* ---------- start ---------- */

  async function loadConfig() {
    for (let delay = 1000; ; delay = Math.min(delay * 2, 10000)) {
      try {
        return await global.hallFetch("/display/config?device=" + encodeURIComponent(device), { token });
      } catch (err) {
        if (err.status === 401 || err.status === 403 || err.status === 404) throw err;
        if (page.revoked) throw err;
        page.error = String(err.message || err);
        renderConnection(false);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  let configStale = false; // a config.changed came: read the settings again after the snapshot
  async function reloadConfig() {
    try {
      const config = await global.hallFetch("/display/config?device=" + encodeURIComponent(device), { token });
      page.config = config;
      scopeWindows = new Set(config.windows);
      configureVoice(config);
      text("scope-title", config.title);
      if (hall && hall.state) render(hall.state);
    } catch (err) {
      page.error = String(err.message || err); // keep the settings shown; the next change retries
    }
  }

  async function start() {
    tickClock();
    setInterval(tickClock, 1000);
    renderConnection(false);
    if (!token) {
      showMessage("缺少设备令牌：请用 ?token=<设备令牌> 打开本页一次", "Open this page once as /display/" + device + "?token=<device token>");
      return;
    }
    let config;
    try {
      config = await loadConfig();
    } catch (err) {
      page.error = String(err.message || err);
      if (!page.revoked) showMessage("本屏无法登录：" + page.error, "This display cannot sign in; check its token.");
      return;
    }
    page.config = config;
    offsetMs = Date.parse(config.server_time) - Date.now();
    scopeWindows = new Set(config.windows);
    text("scope-title", config.title);
    configureVoice(config);
    voice.setEnabled(config.voice.enabled, config.voice.message);
    $("unlock").addEventListener("click", () => voice.unblock());
    doc.addEventListener("click", () => voice.unblock());

    hall = new global.HallClient({
      auth: { token },
      onChange: (state, event) => {
        render(state);
        // the services' hours (for closing time) and waits: once now, then every minute
        if (!etasRead) { etasRead = true; refreshEtas(); }
        // The fresh snapshot after a config change: the hall's new layout is certainly in
        // place now, so read this display's settings (scope, names, floors) once more.
        if (event === null && configStale) { configStale = false; reloadConfig(); }
      },
      onConnection: (up, error) => {
        if (global.hallDevice.refusedToken(error)) revoked();
        else if (!page.revoked) renderConnection(up);
      },
    });
    // An admin added or changed a service or window: take the new scope and names live.
    hall.on("config.changed", () => { configStale = true; reloadConfig(); });
    hall.on("ticket.called", announce);
    hall.on("ticket.recalled", announce);
    hall.connect();
    setInterval(refreshEtas, (ETA_REFRESH_S + Math.random() * 10) * 1000);
  }

  start();
})(window);
