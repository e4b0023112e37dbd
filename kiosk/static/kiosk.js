/*
 * The kiosk touch screen (取号机): choose a service, read its guide, take a number.
 *
 * State comes from GET /api/v1/kiosk/state (refreshed on every hall event and every 15 s);
 * the printer's state and print results arrive on Socket.IO /kiosk. A number is taken with
 * POST /api/v1/kiosk/tickets and one Idempotency-Key per attempt, so a retry after a lost
 * answer never issues a second ticket.
 */
(function () {
  "use strict";

  const device = document.body.dataset.device;
  const TOKEN_KEY = "hall.kiosk.token." + device;
  let token = hallDevice.token(TOKEN_KEY);
  const params = new URLSearchParams(location.search);
  // Untouched this long (?idle_s=…), the kiosk goes back to its start for the next visitor,
  // after a warning with a countdown and a "继续 / Continue" for the last WARN_S seconds
  // (?warn_s=…). Elderly mode doubles both.
  const IDLE_S = Number(params.get("idle_s")) || 60;
  const WARN_S = Number(params.get("warn_s")) || Math.min(20, IDLE_S / 3);
  // Service cards on one home page: columns, and at most so many rows (fewer when they
  // would not fit whole, e.g. under a printer banner).
  const COLUMNS = { normal: 2, elderly: 1 };
  const MAX_ROWS = { normal: 5, elderly: 4 };
  const VOICE = document.body.dataset.voice === "on"; // the server can speak (espeak-ng)
  const RETRIES = 5;
  const screen = document.getElementById("screen");
  const banner = document.getElementById("printer-banner");
  const netBanner = document.getElementById("net-banner");

  const ui = {
    lang: "zh",
    state: null, // the last /kiosk/state
    printer: null, // the last printer state (socket or state)
    view: { name: "home" },
    visitor: { phone: "", idNumber: "", idMasked: "" },
    lastTouch: Date.now(),
    elderly: false, // 长辈模式: large text, high contrast, fewer cards, voice on
    voiceChoice: null, // the visitor's voice switch; null: on in elderly mode, off otherwise
    first: 0, // the first service card of the home page shown
    page: 0, // the home page's page of services (as drawn)
    perPage: 1,
    warned: false, // the idle warning is showing
    issuing: false,
    revoked: null, // [zh, en] once the hall refused this kiosk's token: the kiosk stops
  };

  /* ------------------------------------------------------------ text helpers */
  function esc(text) {
    return String(text == null ? "" : text).replace(/[&<>"']/g, (c) => (
      { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }
  // Chinese first, English second; the English switch swaps which one is large.
  function bi(zh, en) {
    const [a, b] = ui.lang === "en" ? [en, zh] : [zh, en];
    return `<span class="primary">${esc(a)}</span><span class="secondary">${esc(b)}</span>`;
  }
  // One line in the visitor's language only (a card has room for one; the next screen has both).
  function one(zh, en) { return ui.lang === "en" && en ? en : zh; }
  /* The wait in words (kiosk/static/eta.js: the rule the phone, the TV and the paper ticket
     share); ``brief``: a card's one line, where a range in hours gives way to the median. */
  function waitWords(item, brief) { // a service or a ticket: eta_s, eta_range_s, eta_past_closing
    let said = hallEta.words(item.eta_s, item.eta_range_s, item.eta_past_closing);
    if (said.kind === "none") return ["暂无开放窗口", "no window open"]; // none open, none due today
    if (brief && said.kind === "range" && said.zh.includes("小时")) said = hallEta.words(item.eta_s, null, item.eta_past_closing);
    return [said.zh, said.en];
  }
  /* Chinese and English as bi(), each kept whole on either side of a range's dash: a long
     wait wraps after "–", never inside "1小时40分". */
  function biWait(zh, en) {
    const keep = (text) => String(text).split(/(?<=–)/).map((part) => `<span class="nw">${esc(part)}</span>`).join("");
    const [a, b] = ui.lang === "en" ? [en, zh] : [zh, en];
    return `<span class="primary">${keep(a)}</span><span class="secondary">${keep(b)}</span>`;
  }
  function place(service) {
    return [`${service.floor}楼 ${service.zone}`, `Floor ${service.floor}, ${service.zone}`];
  }
  function maskPhone(p) { return p.length >= 7 ? p.slice(0, 3) + "****" + p.slice(-4) : p; }

  /* ------------------------------------------------------------ data */
  async function refresh() {
    if (!token) {
      showMessage("本机未授权：请用 ?token=… 打开本页", "This kiosk has no device token.", true);
      return;
    }
    try {
      ui.state = await hallFetch("/kiosk/state", { token });
      netBanner.hidden = true;
      setPrinter(ui.state.printer);
      renderNotices();
      tick();
      if (ui.view.name === "home" || ui.view.name === "service") render();
    } catch (error) {
      if (error.status === 401) {
        revoked();
      } else if (error.status === 403) {
        showMessage("本机授权无效，请联系管理员", "This kiosk's token is not valid.", true);
      } else {
        netBanner.hidden = false;
        netBanner.innerHTML = bi("网络连接中断，正在重试…", "Network connection lost, retrying…");
      }
    }
  }
  let refreshTimer = null;
  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, 400);
  }

  function setPrinter(printer) {
    ui.printer = printer;
    const ready = !printer || printer.ready;
    banner.hidden = ready;
    if (!ready) {
      const [zh, en] = splitSentence(printer.sentence || printer.message);
      banner.innerHTML = bi(zh, en);
    }
    document.body.classList.toggle("printer-down", !ready);
  }

  /* ------------------------------------------------------------ screens */
  function go(view) {
    ui.view = view;
    render();
    screen.scrollTop = 0;
  }

  function render() {
    if (ui.revoked) { renderMessage({ zh: ui.revoked[0], en: ui.revoked[1], fault: true }); return; }
    const v = ui.view;
    screen.dataset.view = v.name;
    // The mode bar and the header first: the home page measures what fits below them.
    document.getElementById("lang").textContent = ui.lang === "en" ? "中文" : "English";
    renderModes();
    if (v.name === "home") renderHome();
    else if (v.name === "service") renderService(v.code);
    else if (v.name === "keypad") renderKeypad(v);
    else if (v.name === "issued") renderIssued(v.ticket);
    else if (v.name === "message") renderMessage(v);
    else if (v.name === "wait") renderWait(v);
    updateScrollCue();
  }

  /* A screen longer than the kiosk (a long guide, large text) says so above its buttons. */
  function scrollCue() {
    return `<div class="scroll-cue" id="scroll-cue" hidden>${bi("▼ 向下滑动查看更多", "Scroll down for more")}</div>`;
  }
  function updateScrollCue() {
    const cue = document.getElementById("scroll-cue");
    if (cue) cue.hidden = screen.scrollHeight - screen.scrollTop - screen.clientHeight <= 8;
  }
  screen.addEventListener("scroll", updateScrollCue, { passive: true });

  /* ------------------------------------------------------------ elderly mode, voice */
  const elderlySwitch = document.getElementById("elderly");
  const voiceSwitch = document.getElementById("voice");
  const audio = document.getElementById("guide-audio");

  function voiceOn() { return VOICE && (ui.voiceChoice === null ? ui.elderly : ui.voiceChoice); }

  function renderModes() {
    document.body.classList.toggle("elderly", ui.elderly);
    elderlySwitch.setAttribute("aria-pressed", String(ui.elderly));
    const label = (zh, en) => `<span class="label">${bi(zh, en)}</span>`;
    elderlySwitch.innerHTML = ui.elderly ? label("退出长辈模式", "Standard view")
                                         : label("长辈模式", "Large text");
    voiceSwitch.setAttribute("aria-pressed", String(voiceOn()));
    voiceSwitch.innerHTML = voiceOn() ? label("语音引导：开", "Voice guide: on")
                                      : label("语音引导：关", "Voice guide: off");
  }

  function setElderly(on) {
    ui.elderly = on;
    ui.voiceChoice = null; // elderly mode speaks unless the visitor switches it off
    ui.first = 0;
    render();
    screen.scrollTop = 0;
    if (on) speak("/kiosk/voice/say/elderly.wav");
    else stopVoice();
  }

  /* Say one sentence of guidance in the hall's voice (a WAV from the server), if the voice
     is on. Without espeak-ng on the server the page has no voice: nothing is said, and the
     visitor sees nothing of it. */
  function speak(url) {
    if (!voiceOn()) return;
    ui.lastVoice = url;
    audio.src = url;
    audio.play().catch(() => {}); // a refused play (no sound device) is not the visitor's problem
  }
  function stopVoice() { audio.pause(); audio.removeAttribute("src"); }
  audio.addEventListener("error", () => { ui.voiceFailed = ui.lastVoice; });

  elderlySwitch.addEventListener("click", () => setElderly(!ui.elderly));
  voiceSwitch.addEventListener("click", () => {
    ui.voiceChoice = !voiceOn();
    renderModes();
    if (voiceOn()) speak("/kiosk/voice/say/voice.wav");
    else stopVoice();
  });

  /* The services in the hall's order, grouped by category. */
  function orderedServices() {
    const groups = new Map();
    for (const s of ui.state.services) {
      if (!groups.has(s.category)) groups.set(s.category, []);
      groups.get(s.category).push(s);
    }
    return [].concat(...groups.values());
  }

  /* Home: as many rows of cards as fit whole on the screen as it is now (a printer banner or
     long notices take room), at most MAX_ROWS, the same on every page (so pages never
     overlap); each page is drawn to check it before one is shown. */
  function renderHome() {
    if (!ui.state) { screen.innerHTML = `<div class="message">${bi("正在加载…", "Loading…")}</div>`; return; }
    const ordered = orderedServices();
    const columns = ui.elderly ? COLUMNS.elderly : COLUMNS.normal;
    let rows = ui.elderly ? MAX_ROWS.elderly : MAX_ROWS.normal;
    for (; rows > 1; rows--) {
      const per = columns * rows;
      let fits = true;
      for (let first = 0; fits && first < Math.max(1, ordered.length); first += per) {
        drawHome(ordered, columns, rows, first);
        fits = homeFits();
      }
      if (fits) break;
    }
    drawHome(ordered, columns, rows, ui.first);
  }

  function homeFits() {
    if (screen.scrollHeight > screen.clientHeight + 1) return false;
    return [...screen.querySelectorAll(".service")].every((card) => card.scrollHeight <= card.clientHeight + 1);
  }

  function drawHome(ordered, columns, rows, first) {
    const per = columns * rows;
    const count = Math.max(1, Math.ceil(ordered.length / per));
    // The page that holds the card `first`: the first card shown stays in view when the page
    // size changes.
    const page = Math.min(Math.floor(first / per), count - 1);
    ui.perPage = per;
    ui.page = page;
    const shown = ordered.slice(page * per, (page + 1) * per);
    const left = ordered.length - (page + 1) * per;
    const canPrint = !ui.printer || ui.printer.ready;
    let html = `<div class="home-head">
      <h1 class="title">${bi("请选择办理事项", "Choose your service")}</h1>
      <button class="big plain small" id="appointment" type="button">${bi("预约签到", "Appointment check-in")}</button>
    </div><div class="services" id="services">`;
    for (const s of shown) {
      const off = !s.available || !canPrint;
      const [etaZh, etaEn] = waitWords(s, true);
      // Long names end in "…" here; the next screen (the confirm step) shows them whole.
      html += `<button class="service${off ? " off" : ""}" data-service="${esc(s.code)}" type="button">
        <span class="name">${bi(s.name, s.name_en)}</span>
        ${s.available ? `<span class="meta">${esc(one(`等候 ${s.waiting} 人 · ${etaZh}`, `${s.waiting} waiting · ${etaEn}`))}</span>`
                      : `<span class="reason">${esc(one(...splitSentence(s.reason)))}</span>`}
      </button>`;
    }
    html += "</div>";
    if (count > 1) {
      html += `<nav class="pager" aria-label="翻页 Pages">
        <button class="big plain page-btn" id="prev" type="button" ${page === 0 ? "disabled" : ""}>${bi("上一页", "Previous")}</button>
        <div class="page-count" id="page-count">${bi(`第 ${page + 1} / ${count} 页`, `Page ${page + 1} of ${count}`)}</div>
        <button class="big go page-btn" id="next" type="button" ${left > 0 ? "" : "disabled"}>${bi("下一页", "Next")}${
          left > 0 ? `<span class="more">${esc(one(`还有${left}项`, `${left} more`))}</span>` : ""}</button>
      </nav>`;
    }
    screen.innerHTML = html;
    // (CSSOM, not a style attribute: the Content-Security-Policy allows this one)
    document.getElementById("services").style.gridTemplateRows = `repeat(${rows}, minmax(0, 1fr))`;
    screen.querySelectorAll(".service").forEach((el) =>
      el.addEventListener("click", () => chooseService(el.dataset.service)));
    document.getElementById("appointment").addEventListener("click", () => openAppointment());
    if (count > 1) {
      document.getElementById("prev").addEventListener("click", () => turnPage(-1));
      document.getElementById("next").addEventListener("click", () => turnPage(1));
    }
  }

  function turnPage(step) {
    ui.first = Math.max(0, (ui.page + step) * ui.perPage);
    render();
    screen.scrollTop = 0;
  }

  function chooseService(code) {
    go({ name: "service", code });
    speak(`/kiosk/voice/service/${encodeURIComponent(code)}.wav`);
  }


  function findService(code) {
    return ui.state && ui.state.services.find((s) => s.code === code);
  }

  function renderService(code) {
    const s = findService(code);
    if (!s) { go({ name: "home" }); return; }
    const guide = s.guide || {};
    const [etaZh, etaEn] = waitWords(s);
    const [placeZh, placeEn] = place(s);
    const canPrint = !ui.printer || ui.printer.ready;
    // What the admin left empty is not invented ("无需材料", "免费"): the desk knows.
    const ask = bi("请咨询工作人员", "Please ask at the desk");
    const materials = (guide.materials || []).map((m) => `<li>${esc(m)}</li>`).join("") ||
      `<li class="ask">${ask}</li>`;
    // today's periods (a Saturday may have its own), from the hall: not the kiosk PC's calendar
    const today = s.hours_today || [];
    const hours = today.length ? esc(today.map((h) => h.join("-")).join("，")) : bi("今日不取号", "No tickets today");
    const why = s.available ? "" : s.reason; // a printer fault is said by the banner above
    screen.innerHTML = `
      <h1 class="title">${bi(s.name, s.name_en)}</h1>
      <div class="facts">
        <div class="fact"><div class="label">${bi("正在等候", "Waiting")}</div><div class="value">${s.waiting}</div></div>
        <div class="fact"><div class="label">${bi("预计等候", "Estimated wait")}</div><div class="value inline" id="eta">${biWait(etaZh, etaEn)}</div></div>
        <div class="fact"><div class="label">${bi("办理地点", "Where")}</div><div class="value inline">${bi(placeZh, placeEn)}</div></div>
      </div>
      <section class="guide" id="guide">
        <h3 class="inline">${bi("办事指南", "Service guide")}</h3>
        <h3 class="inline">${bi("所需材料", "Required documents")}</h3>
        <ol>${materials}</ol>
        <div class="row">
          <div><h3 class="inline">${bi("收费", "Fee")}</h3>${guide.fee ? esc(guide.fee) : ask}</div>
          <div><h3 class="inline">${bi("法定时限", "Legal time limit")}</h3>${guide.time_limit ? esc(guide.time_limit) : ask}</div>
          <div id="hours-today"><h3 class="inline">${bi("今日取号时间", "Ticket hours today")}</h3>${hours}</div>
        </div>
        ${guide.notes ? `<h3 class="inline">${bi("备注", "Notes")}</h3><div>${esc(guide.notes)}</div>` : ""}
      </section>
      <div class="extras">
        <button class="extra${ui.visitor.phone ? " set" : ""}" id="phone" type="button">${
          ui.visitor.phone ? bi(`短信提醒：${maskPhone(ui.visitor.phone)}`, "SMS reminder set")
                           : bi("留手机号，快到时短信提醒（可选）", "Phone for an SMS reminder (optional)")}</button>
        <button class="extra${ui.visitor.idMasked ? " set" : ""}" id="idcard" type="button">${
          ui.visitor.idMasked ? bi(`身份证：${ui.visitor.idMasked}`, "ID card read")
                              : bi("刷身份证（可选，65岁以上优先）", "Read ID card (optional, priority 65+)")}</button>
      </div>
      <div class="error-line inline">${why ? bi(...splitSentence(why)) : esc(ui.view.note || "")}</div>
      <div class="actions">${scrollCue()}
        <button class="big plain" id="back" type="button">${bi("返回", "Back")}</button>
        <button class="big go" id="take" type="button" ${why || !canPrint ? "disabled" : ""}>${bi("取号", "Take a number")}</button>
      </div>`;
    document.getElementById("back").addEventListener("click", () => go({ name: "home" }));
    document.getElementById("take").addEventListener("click", () => issue({ service: s.code }));
    document.getElementById("phone").addEventListener("click", () => openPhone(code));
    document.getElementById("idcard").addEventListener("click", () => readCard(code));
  }

  /* A keypad screen: phone digits or a booking code. */
  function renderKeypad(v) {
    const keys = v.kind === "phone"
      ? ["1", "2", "3", "4", "5", "6", "7", "8", "9", "清空", "0", "⌫"]
      : ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "A", "B", "C", "D", "E", "F",
         "G", "H", "J", "K", "L", "M", "N", "P", "Q", "R", "S", "T", "U", "V", "W", "X", "Y", "Z", "清空", "⌫"];
    screen.innerHTML = `
      <h1 class="title">${v.kind === "phone" ? bi("请输入手机号", "Enter your mobile number")
                                             : bi("请输入预约号，或扫描预约二维码", "Enter your booking code, or scan its QR code")}</h1>
      <input class="entry" id="entry" value="${esc(v.value)}" autocomplete="off"
             inputmode="${v.kind === "phone" ? "numeric" : "text"}" aria-label="entry">
      <div class="error-line" id="entry-error">${esc(v.error || "")}</div>
      <div class="keypad${v.kind === "phone" ? "" : " letters"}">
        ${keys.map((k) => `<button class="key" type="button" data-key="${k}">${k}</button>`).join("")}
      </div>
      <div class="actions">${scrollCue()}
        <button class="big plain" id="back" type="button">${bi("返回", "Back")}</button>
        <button class="big go" id="ok" type="button">${v.kind === "phone" ? bi("确定", "OK") : bi("签到取号", "Check in")}</button>
      </div>`;
    const entry = document.getElementById("entry");
    entry.focus();
    entry.addEventListener("input", () => { v.value = entry.value.trim().toUpperCase(); });
    entry.addEventListener("keydown", (e) => { if (e.key === "Enter") submitKeypad(v); });
    screen.querySelectorAll(".key").forEach((el) => el.addEventListener("click", () => {
      const k = el.dataset.key;
      if (k === "⌫") v.value = v.value.slice(0, -1);
      else if (k === "清空") v.value = "";
      else if (v.kind !== "phone" || v.value.length < 11) v.value += k;
      entry.value = v.value;
    }));
    document.getElementById("back").addEventListener("click", () =>
      go(v.kind === "phone" ? { name: "service", code: v.service } : { name: "home" }));
    document.getElementById("ok").addEventListener("click", () => submitKeypad(v));
  }

  function submitKeypad(v) {
    const value = document.getElementById("entry").value.trim().toUpperCase();
    if (v.kind === "phone") {
      if (value && !/^1[3-9]\d{9}$/.test(value)) {
        v.value = value;
        v.error = "手机号应为11位数字 / A mobile number has 11 digits";
        render();
        return;
      }
      ui.visitor.phone = value;
      go({ name: "service", code: v.service });
    } else {
      if (!value) return;
      issue({ appointment_code: bookingCode(value) });
    }
  }

  // A scanned booking QR may hold a link (…?code=ABC123) or the code itself.
  function bookingCode(text) {
    const match = /[?&]code=([^&#]+)/.exec(text);
    return (match ? decodeURIComponent(match[1]) : text).trim().toUpperCase();
  }

  function openPhone(code) { go({ name: "keypad", kind: "phone", service: code, value: ui.visitor.phone }); }
  function openAppointment() { go({ name: "keypad", kind: "code", value: "" }); }

  function renderWait(v) {
    screen.innerHTML = `<div class="message"><div class="icon spinner" aria-hidden="true"></div>${bi(v.zh, v.en)}
      ${v.detail ? `<div class="hint">${esc(v.detail)}</div>` : ""}</div>`;
  }

  function renderMessage(v) {
    screen.innerHTML = `<div class="message${v.fault ? " fault" : ""}" id="message">
        <div class="icon mark" aria-hidden="true">${v.fault ? "!" : "i"}</div>
        <div class="primary">${esc(v.zh)}</div>
        ${v.en ? `<div class="secondary">${esc(v.en)}</div>` : ""}
      </div>
      <div class="actions">${scrollCue()}<button class="big plain" id="home" type="button">${bi("返回首页", "Home")}</button></div>`;
    document.getElementById("home").addEventListener("click", () => go({ name: "home" }));
  }

  function showMessage(zh, en, fault) { go({ name: "message", zh, en, fault }); }

  function renderIssued(t) {
    const [etaZh, etaEn] = waitWords(t);
    const job = t.print;
    let printLine = "";
    if (job) {
      const text = {
        pending: bi("正在打印号票…", "Printing your ticket…"),
        printed: bi("请取走号票", "Please take your ticket"),
        failed: bi("号票打印失败，号码仍然有效：请记下号码或扫码保存", "Printing failed. Your number is still valid: note it or scan the code"),
      }[job.state] || "";
      printLine = `<div class="print-state ${esc(job.state)}" id="print-state">${text}</div>`;
    }
    const tag = t.priority_kind ? `<div class="tag">${esc(t.priority_kind === "预约" ? "预约优先 Appointment" : "绿色通道 · " + t.priority_kind)}</div>` : "";
    screen.innerHTML = `<div class="issued" id="issued">
        <div class="service-name">${bi(t.service_name, (findService(t.service) || {}).name_en || "")}</div>
        ${tag}
        <div class="number" id="number">${esc(t.number)}</div>
        <div class="facts">
          <div class="fact"><div class="label">${bi("前面等候", "Ahead of you")}</div><div class="value" id="ahead">${t.people_ahead}</div></div>
          <div class="fact"><div class="label">${bi("预计等候", "Estimated wait")}</div><div class="value inline" id="eta">${biWait(etaZh, etaEn)}</div></div>
        </div>
        <div class="follow">
          <div class="follow-text">
            <div class="go-to">${bi(`请到 ${t.floor}楼 ${t.zone} 等候叫号`, `Please wait at Floor ${t.floor}, ${t.zone}`)}</div>
            ${printLine}
          </div>
          <figure class="qr-box">
            <img class="qr" id="qr" alt="QR" src="/t/${encodeURIComponent(t.token)}/qr.svg">
            <figcaption class="hint">${bi("手机扫码查看排队进度", "Scan to follow your queue on your phone")}</figcaption>
          </figure>
        </div>
      </div>
      <div class="actions">${scrollCue()}<button class="big go" id="done" type="button">${bi("完成", "Done")}</button></div>`;
    document.getElementById("done").addEventListener("click", () => reset());
  }

  /* ------------------------------------------------------------ taking a number */
  async function issue(body) {
    if (ui.issuing) return; // a double tap takes one number
    ui.issuing = true;
    const key = hallNewKey(); // one key for every retry of this one attempt
    const request = Object.assign({}, body);
    if (ui.visitor.phone) request.phone = ui.visitor.phone;
    if (ui.visitor.idNumber) request.id_number = ui.visitor.idNumber;
    try {
      for (let attempt = 1; attempt <= RETRIES; attempt++) {
        try {
          const ticket = await hallFetch("/kiosk/tickets", { method: "POST", token, body: request, idempotencyKey: key });
          netBanner.hidden = true;
          clearVisitor();
          go({ name: "issued", ticket });
          speak(`/t/${encodeURIComponent(ticket.token)}/voice.wav`);
          refreshSoon();
          return;
        } catch (error) {
          if (error.status && error.status < 500) {
            showRefusal(error);
            refreshSoon();
            return;
          }
          // No answer (or a server error): the same key again cannot issue twice.
          go({ name: "wait", zh: "网络连接中断，正在重试…", en: "Connection lost, retrying…", detail: `${attempt}/${RETRIES}` });
          await new Promise((r) => setTimeout(r, 1500 * attempt));
        }
      }
      showMessage("暂时无法连接服务器，请稍后再试或到咨询台取号",
                  "The hall server cannot be reached. Please try again later or ask at the help desk.", true);
    } finally {
      ui.issuing = false;
    }
  }

  // The server's sentences read "中文 (English)." or "中文 / English": split the two.
  function splitSentence(text) {
    text = text || "";
    const cut = text.indexOf(" (");
    if (cut > 0) return [text.slice(0, cut), text.slice(cut + 2).replace(/\)\.?$/, "")];
    const slash = text.indexOf(" / ");
    if (slash > 0) return [text.slice(0, slash), text.slice(slash + 3)];
    return [text, ""];
  }

  function showRefusal(error) {
    const [zh, en] = splitSentence(error.message);
    if (error.code === "printer_unavailable") refresh();
    showMessage(zh, en, true);
  }

  function clearVisitor() { ui.visitor = { phone: "", idNumber: "", idMasked: "" }; }

  /* Back to the start for the next visitor: Chinese, standard mode, voice off, page 1. */
  function reset() {
    clearVisitor();
    hideWarning();
    stopVoice();
    ui.lang = "zh";
    document.documentElement.lang = "zh-CN";
    ui.elderly = false;
    ui.voiceChoice = null;
    ui.first = 0;
    go({ name: "home" });
    refresh();
  }

  /* ------------------------------------------------------------ ID card */
  let cardWait = null;
  function readCard(code) {
    go({ name: "wait", zh: "请将身份证放在读卡区", en: "Place your ID card on the reader" });
    kioskSocket.emit("read_card", { timeout_s: 15 });
    clearTimeout(cardWait);
    cardWait = setTimeout(() => { ui.cardFor = null; go({ name: "service", code, note: "未读到身份证 / No card was read" }); }, 16000);
    ui.cardFor = code;
  }

  function onCard(card) {
    clearTimeout(cardWait);
    if (card.ok) {
      ui.visitor.idNumber = card.id_number;
      ui.visitor.idMasked = card.masked;
    }
    const code = ui.cardFor;
    ui.cardFor = null;
    if (code) go({ name: "service", code, note: card.ok ? "" : (card.message || "未读到身份证 / No card was read") });
  }

  /* ------------------------------------------------------------ sockets, clock, idle */
  const kioskSocket = io("/kiosk", {
    transports: ["websocket", "polling"],
    auth: { token, role: "page" },
    autoConnect: Boolean(token), // without a token there is nothing to connect as
    reconnectionDelay: 500,
    reconnectionDelayMax: 5000,
  });
  kioskSocket.on("printer", (printer) => { setPrinter(printer); if (ui.view.name === "home" || ui.view.name === "service") render(); });
  kioskSocket.on("print_result", (job) => {
    if (ui.view.name === "issued" && ui.view.ticket.print && ui.view.ticket.print.job_id === job.job_id) {
      ui.view.ticket.print = job;
      render();
    }
  });
  kioskSocket.on("card", onCard);

  const conn = document.getElementById("conn");
  const hall = new HallClient({
    auth: { token },
    onConnection: (up, error) => {
      conn.classList.toggle("up", up);
      if (hallDevice.refusedToken(error)) revoked();
    },
    // Issues arrive as coalesced "queue.counts" (a few a second at most), calls at once.
    onChange: (_state, event) => { if (event && (event.type.startsWith("ticket.") || event.type === "queue.counts")) refreshSoon(); },
  });
  if (token) hall.connect();

  /* The token was revoked (or is not valid): forget it, stop, and say so until an admin comes. */
  function revoked() {
    if (ui.revoked || !token) return;
    ui.revoked = hallDevice.revoked(TOKEN_KEY);
    token = null;
    kioskSocket.disconnect();
    if (hall.socket) hall.socket.disconnect();
    netBanner.hidden = true;
    banner.hidden = true; // the printer does not matter any more
    render();
  }
  hallFetch.onUnauthorized((_error, used) => { if (used === token) revoked(); });

  function renderNotices() {
    const notices = (ui.state && ui.state.notices) || [];
    document.getElementById("notices").innerHTML = `<span class="notices-text">${esc(notices.join("　"))}</span>`;
  }

  function tick() {
    const now = new Date();
    const timeZone = (ui.state && ui.state.hall.timezone) || undefined; // the hall's clock, not the PC's
    document.getElementById("clock").textContent = now.toLocaleTimeString("zh-CN", { hour12: false, hour: "2-digit", minute: "2-digit", timeZone });
  }

  /* ------------------------------------------------------------ idle: warn, then reset */
  const idleBox = document.getElementById("idle");
  const idleContinue = document.getElementById("idle-continue");

  // Home in Chinese, standard mode, first page: nothing of a visitor left to clear.
  function atStart() {
    return ui.view.name === "home" && !ui.elderly && ui.lang === "zh" && ui.first === 0 &&
      ui.voiceChoice === null;
  }
  function idleLimits() {
    const scale = ui.elderly ? 2 : 1; // an elderly visitor gets twice the time
    return { idle: IDLE_S * scale * 1000, warn: WARN_S * scale * 1000 };
  }
  function checkIdle() {
    if (atStart() || ui.issuing || ui.revoked) { hideWarning(); return; }
    const { idle, warn } = idleLimits();
    const untouched = Date.now() - ui.lastTouch;
    if (untouched >= idle) { reset(); return; }
    if (untouched >= idle - warn) showWarning(Math.ceil((idle - untouched) / 1000));
    else hideWarning();
  }
  function showWarning(seconds) {
    document.getElementById("idle-title").innerHTML = bi("您还在办理吗？", "Are you still there?");
    document.getElementById("idle-text").innerHTML =
      `<span class="idle-seconds">${seconds}</span>` +
      `<span class="idle-line">${bi("秒后将返回首页", "seconds, then back to the start")}</span>` +
      `<span class="idle-line">${bi("需要更多时间，请点“继续”", "Need more time? Tap Continue")}</span>`;
    document.getElementById("idle-text").dataset.seconds = String(seconds);
    if (ui.warned) return;
    ui.warned = true;
    focusBefore = document.activeElement;
    idleContinue.innerHTML = bi("继续", "Continue");
    idleBox.hidden = false;
    setInert(true); // a modal dialog: the page behind it is out of reach until it closes
    idleContinue.focus();
    speak("/kiosk/voice/say/idle.wav");
  }
  function hideWarning() {
    if (!ui.warned) return;
    ui.warned = false;
    idleBox.hidden = true;
    setInert(false);
    if (focusBefore && document.contains(focusBefore)) focusBefore.focus();
    focusBefore = null;
  }
  let focusBefore = null;
  function setInert(on) {
    for (const part of document.querySelectorAll("body > header, body > nav, body > .banner, body > main, body > footer")) {
      part.inert = on;
    }
  }
  idleContinue.addEventListener("click", () => { ui.lastTouch = Date.now(); hideWarning(); });
  for (const type of ["pointerdown", "keydown"]) {
    document.addEventListener(type, () => { ui.lastTouch = Date.now(); }, { capture: true });
  }

  // A booking QR scanner types like a keyboard and ends with Enter: check in from home.
  let scanned = "";
  let scannedAt = 0;
  document.addEventListener("keydown", (e) => {
    if (ui.view.name !== "home") return;
    if (Date.now() - scannedAt > 300) scanned = "";
    scannedAt = Date.now();
    if (e.key === "Enter") {
      if (scanned.length >= 4) issue({ appointment_code: bookingCode(scanned) });
      scanned = "";
    } else if (e.key.length === 1) {
      scanned += e.key;
    }
  });

  document.getElementById("lang").addEventListener("click", () => {
    ui.lang = ui.lang === "zh" ? "en" : "zh";
    document.documentElement.lang = ui.lang === "en" ? "en" : "zh-CN";
    render();
    if (ui.warned) showWarning(Number(document.getElementById("idle-text").dataset.seconds));
  });

  window.kiosk = { ui, refresh, reset, idleLimits }; // for tests and the support desk's console
  render();
  refresh();
  setInterval(refresh, 15000);
  setInterval(tick, 1000);
  setInterval(checkIdle, 250);
  tick();
})();
