/*
 * The staff window page (/window): log in, choose or confirm the window, then one desk.
 *
 * The desk is read from GET /api/v1/windows/{n}/desk (ticket, legal buttons with the
 * reason a button is off, queues, figures today, missed and held tickets) and read again
 * whenever the hall log (Socket.IO, HallClient) says something changed. Every press goes
 * to POST /api/v1/windows/{n}/{action} with an Idempotency-Key that is kept until the
 * server answers, so a double click or a network retry never acts twice.
 */
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const STATE_ZH = { open: "服务中", paused: "暂停", closed: "已关闭" };
  const STATE_EN = { open: "Open", paused: "Paused", closed: "Closed" };
  const TICKET_ZH = { called: "已叫号", serving: "办理中", held: "挂起补件", no_show: "已过号" };
  const TICKET_EN = { called: "Called", serving: "Serving", held: "Held", no_show: "Missed" };
  const DIALOG_ACTIONS = new Set(["pause", "transfer", "call"]);
  const DONE_ZH = {
    "open": "已开窗 (window open)",
    "pause": "已暂停 (paused)",
    "resume": "已恢复服务 (resumed)",
    "close": "已关窗 (window closed)",
    "recall": "已重呼 {n} (recalled {n})",
    "start": "开始办理 {n} (serving {n})",
    "finish": "{n} 已办结 ({n} finished)",
    "no-show": "{n} 已过号 ({n} marked no-show)",
    "transfer": "{n} 已转移 ({n} transferred)",
    "hold": "{n} 已挂起，补件后可返回 ({n} on hold)",
    "call-next": "请 {n} 号办理 (called {n})",
    "call": "特呼 {n} (called {n})",
  };

  const page = {
    token: null, // the staff login's (hallStaff, shared with the supervisor's pages)
    me: null,
    number: null, // the window on the desk
    desk: null,
    offsetMs: 0, // server clock minus browser clock
    keys: {}, // action -> idempotency key kept until the server answers
    inflight: new Set(),
    hall: null, // HallClient
    refreshTimer: null,
    dialog: null,
  };

  // ------------------------------------------------------------------ views

  function showView(view) {
    for (const name of ["choose", "desk"]) $(name + "-view").hidden = name !== view;
    $("where").hidden = view !== "desk";
    $("switch").hidden = view !== "desk";
    $("logout").hidden = false;
    $("conn").hidden = false;
    document.body.dataset.view = view;
  }

  function say(text, kind) {
    const el = $("message");
    el.textContent = text;
    el.className = "message" + (kind ? " " + kind : "");
  }

  // A 401 forgets the login and shows it again (staff-login.js).
  function api(path, options) {
    return hallFetch(path, Object.assign({ token: page.token }, options || {}));
  }

  // ------------------------------------------------------------------ start, once logged in

  async function start(session) {
    page.token = session.token;
    try {
      page.me = await api("/staff/me");
    } catch (error) {
      if (error.status !== 401) {
        showView("choose");
        $("choose-error").textContent = error.message || "无法连接服务器 (cannot reach the server)";
      }
      return;
    }
    $("staff-name").textContent = page.me.name;
    connect();
    if (page.me.window != null) await enterWindow(page.me.window);
    else await showChoose();
  }

  // ------------------------------------------------------------------ choose a window

  async function showChoose(message) {
    showView("choose");
    $("choose-error").textContent = message || "";
    $("choose-hint").textContent =
      page.me && page.me.window != null
        ? `您正在使用${page.me.window}号窗口 (you are at window ${page.me.window})`
        : `${page.me ? page.me.name : ""}，请选择今天工作的窗口 (choose the window you work at)`;
    $("window-list").innerHTML = ""; // never show a list from an earlier visit
    let snapshot;
    try {
      snapshot = await api("/snapshot");
    } catch (error) {
      $("choose-error").textContent = error.message;
      return;
    }
    const names = Object.fromEntries(snapshot.queues.map((q) => [q.service, q.name]));
    const list = $("window-list");
    list.innerHTML = "";
    for (const w of snapshot.windows) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "window-choice";
      button.dataset.window = w.number;
      const mine = page.me && page.me.window === w.number;
      const elsewhere = page.me && page.me.window != null && !mine && !isSupervisor();
      const held = !mine && w.staff && page.me && w.staff !== page.me.name && !isSupervisor();
      const taken = !mine && (held || elsewhere);
      const state = w.state === "paused" ? `暂停：${w.pause_reason}` : STATE_ZH[w.state];
      button.innerHTML =
        `<strong>${w.number}号窗口 <span class="en">Window ${w.number}</span></strong>` +
        `${escapeHtml(state)}${w.staff ? " · " + escapeHtml(w.staff) : ""}` +
        `<small>${escapeHtml(w.general ? "综合窗口 (all services)" : w.services.map((s) => names[s] || s).join("、"))}</small>`;
      if (taken) {
        button.setAttribute("aria-disabled", "true");
        button.title = held
          ? `${w.number}号窗口由${w.staff}使用中 (in use by ${w.staff})`
          : `请先在${page.me.window}号窗口关窗或退出 (close window ${page.me.window} or log out first)`;
      }
      button.addEventListener("click", () => {
        if (taken) {
          $("choose-error").textContent = button.title;
          return;
        }
        enterWindow(w.number, w.state);
      });
      list.appendChild(button);
    }
  }

  function isSupervisor() {
    return page.me && (page.me.role === "supervisor" || page.me.role === "admin");
  }

  async function enterWindow(number, state) {
    page.number = number;
    page.keys = {};
    if (state === "closed") {
      // Choosing a closed window opens it: that is what binds it to this staff member.
      try {
        await api(`/windows/${number}/open`, { method: "POST", idempotencyKey: hallNewKey() });
      } catch (error) {
        page.number = null;
        if (error.status) await showChoose(error.message);
        return;
      }
    }
    showView("desk");
    $("window-title").textContent = `${number}号窗口`;
    say("");
    await loadDesk();
  }

  // ------------------------------------------------------------------ the desk

  async function loadDesk() {
    if (page.number == null) return;
    const number = page.number;
    try {
      const desk = await api(`/windows/${number}/desk`);
      if (page.number !== number) return;
      page.desk = desk;
      if (desk.mine && page.me) page.me.window = number;
      page.offsetMs = Date.parse(desk.now) - Date.now();
      render();
    } catch (error) {
      if (error.status === 403 || error.status === 404) {
        page.number = null;
        await showChoose(error.message);
      } else if (!error.status) {
        offline(true);
      }
    }
  }

  function render() {
    const desk = page.desk;
    const w = desk.window;
    const badge = $("window-state");
    badge.className = "badge " + w.state;
    badge.textContent = w.state === "paused" ? `暂停：${w.pause_reason}` : STATE_ZH[w.state];
    badge.title = STATE_EN[w.state];
    $("staff-name").textContent = w.staff || (page.me ? page.me.name : "");

    const t = desk.ticket;
    $("ticket-number").textContent = t ? t.number : "—";
    $("ticket-number").classList.toggle("none", !t);
    $("ticket-service").textContent = t ? t.service_name + (t.priority ? ` · ${t.priority_kind || "优先"}` : "") : "暂无号票 (no ticket)";
    $("ticket-status").textContent = t ? `${TICKET_ZH[t.status] || t.status}` : "—";
    $("ticket-calls").textContent = t ? `${t.call_count} 次` : "—";
    $("ticket-waited").textContent = t && t.waited_s != null ? clock(t.waited_s) : "—";
    tick();

    for (const button of document.querySelectorAll("#buttons [data-action]")) {
      const state = desk.buttons[button.dataset.action] || { allowed: false, reason: "" };
      button.setAttribute("aria-disabled", state.allowed ? "false" : "true");
      button.title = state.allowed ? `快捷键 ${button.dataset.key.toUpperCase()} (shortcut)` : state.reason;
      button.hidden =
        (button.dataset.action === "resume" && w.state !== "paused") ||
        (button.dataset.action === "pause" && w.state === "paused") ||
        (button.dataset.action === "open" && w.state !== "closed");
    }

    const queues = $("queues");
    queues.innerHTML = "";
    for (const q of desk.queues) {
      if (!q.service && !q.waiting) continue; // "for this window" only when someone waits for it
      const li = document.createElement("li");
      li.dataset.service = q.service;
      if (!q.service) li.className = "targeted";
      li.innerHTML = `<span>${escapeHtml(q.prefix ? q.prefix + " " : "")}${escapeHtml(q.name)} <span class="en">${escapeHtml(q.name_en)}</span></span><span class="count">${q.waiting}</span>`;
      queues.appendChild(li);
    }

    $("fig-served").textContent = desk.today.served;
    $("fig-handle").textContent = desk.today.avg_handle_s == null ? "—" : clock(desk.today.avg_handle_s);
    $("fig-wait").textContent = desk.today.avg_wait_s == null ? "—" : clock(desk.today.avg_wait_s);

    const returns = $("returns");
    returns.innerHTML = "";
    for (const r of desk.returns) {
      const li = document.createElement("li");
      li.dataset.ticket = r.id;
      li.dataset.number = r.number;
      const label = r.status === "held" ? "补件返回<span class=\"en\"> Back</span>" : "重新排队<span class=\"en\"> Re-queue</span>";
      li.innerHTML =
        `<span class="number">${escapeHtml(r.number)}</span>` +
        `<span class="what">${TICKET_ZH[r.status]} <span class="en">${TICKET_EN[r.status]}</span> · ${escapeHtml(r.service_name)}</span>`;
      const button = document.createElement("button");
      button.type = "button";
      button.innerHTML = label;
      button.setAttribute("aria-disabled", r.returnable ? "false" : "true");
      if (!r.returnable) button.title = r.reason;
      button.addEventListener("click", () => requeue(r));
      li.appendChild(button);
      returns.appendChild(li);
    }
    $("returns-empty").hidden = desk.returns.length > 0;
  }

  function tick() {
    const t = page.desk && page.desk.ticket;
    if (!t) {
      $("ticket-running").textContent = "—";
      return;
    }
    const now = Date.now() + page.offsetMs;
    const since = t.status === "serving" ? t.started_at : t.called_at;
    $("running-label").innerHTML =
      t.status === "serving" ? '办理用时 <span class="en">Handling</span>' : '叫号后 <span class="en">Since call</span>';
    $("ticket-running").textContent = since ? clock((now - Date.parse(since)) / 1000) : "—";
  }

  function clock(seconds) {
    const s = Math.max(0, Math.round(seconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const rest = String(s % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
  }

  function escapeHtml(text) {
    return String(text == null ? "" : text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  // ------------------------------------------------------------------ actions

  function press(action) {
    if (!page.desk || page.number == null) return;
    const state = page.desk.buttons[action];
    if (!state || !state.allowed) {
      say(state ? state.reason : "", "error");
      return;
    }
    if (DIALOG_ACTIONS.has(action)) openDialog(action);
    else send(action, {});
  }

  async function send(action, body) {
    if (page.inflight.has(action)) return null; // a second click while the first is on its way
    const button = document.querySelector(`#buttons [data-action="${action}"]`);
    const key = page.keys[action] || (page.keys[action] = hallNewKey());
    page.inflight.add(action);
    if (button) button.classList.add("busy");
    try {
      const answer = await api(`/windows/${page.number}/${action}`, { method: "POST", body, idempotencyKey: key });
      delete page.keys[action];
      if (action === "call-next" && !answer.ticket) say("暂无等候的号票 (nobody is waiting)", "ok");
      else if (action === "close") say(DONE_ZH.close, "ok");
      else say((DONE_ZH[action] || action).replaceAll("{n}", answer.ticket ? answer.ticket.number : ""), "ok");
      await loadDesk();
      if (action === "close") {
        page.me.window = null;
        page.number = null;
        await showChoose(DONE_ZH.close);
      }
      return answer;
    } catch (error) {
      if (error.status) {
        delete page.keys[action]; // the server answered: the next press is a new request
        say(error.message, "error");
        loadDesk();
        throw error;
      }
      // No answer: keep the key, so pressing again cannot act twice.
      say("网络故障，请再按一次（不会重复办理） (network error: press again, it will not act twice)", "error");
      offline(true);
      throw error;
    } finally {
      page.inflight.delete(action);
      if (button) button.classList.remove("busy");
    }
  }

  async function requeue(r) {
    if (!r.returnable) {
      say(r.reason, "error");
      return;
    }
    const action = "requeue:" + r.id;
    if (page.inflight.has(action)) return;
    page.inflight.add(action);
    try {
      const answer = await api(`/tickets/${r.id}/requeue`, { method: "POST" });
      say(
        r.status === "held"
          ? `${r.number} 补件返回，下一位优先呼叫 (${r.number} is back: called next here)`
          : `${r.number} 已重新排队，前面还有 ${answer.people_ahead} 人 (${r.number} re-queued, ${answer.people_ahead} ahead)`,
        "ok",
      );
    } catch (error) {
      say(error.message || "网络故障 (network error)", "error");
    } finally {
      page.inflight.delete(action);
      loadDesk();
    }
  }

  // ------------------------------------------------------------------ dialogs

  function openDialog(action) {
    const desk = page.desk;
    const body = $("dialog-body");
    $("dialog-error").textContent = "";
    page.dialog = action;
    if (action === "pause") {
      $("dialog-title").innerHTML = '暂停原因 <span class="en">Why pause?</span>';
      body.innerHTML =
        '<div class="choices">' +
        desk.pause_reasons
          .map((r, i) => `<label><input type="radio" name="reason" value="${escapeHtml(r)}"${i === 0 ? " checked" : ""}> ${escapeHtml(r)}</label>`)
          .join("") +
        "</div>";
    } else if (action === "transfer") {
      $("dialog-title").innerHTML = `转移 ${escapeHtml(desk.ticket.number)} <span class="en">Transfer</span>`;
      body.innerHTML =
        '<label>转到窗口 <span class="en">To window</span><select id="transfer-window"><option value="">— 不指定 (any window) —</option>' +
        desk.windows.map((w) => `<option value="${w.number}">${w.number}号窗口 ${escapeHtml(w.zone)}</option>`).join("") +
        "</select></label>" +
        '<label>转到事项 <span class="en">To service</span><select id="transfer-service"><option value="">— 不变 (same service) —</option>' +
        desk.services.map((s) => `<option value="${escapeHtml(s.code)}">${escapeHtml(s.prefix)} ${escapeHtml(s.name)}</option>`).join("") +
        "</select></label>" +
        '<label>备注 <span class="en">Note</span><input id="transfer-note" maxlength="200" placeholder="如：需补充材料后到不动产窗口"></label>';
    } else if (action === "call") {
      $("dialog-title").innerHTML = '特呼 <span class="en">Call a number</span>';
      body.innerHTML = '<label>号码 <span class="en">Ticket number</span><input id="call-number" maxlength="16" placeholder="B012" autocomplete="off"></label>';
    }
    $("dialog").hidden = false;
    const first = body.querySelector("input:checked, select, input");
    if (first) first.focus();
  }

  function closeDialog() {
    $("dialog").hidden = true;
    page.dialog = null;
  }

  $("dialog-cancel").addEventListener("click", closeDialog);
  $("dialog-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const action = page.dialog;
    let body = {};
    if (action === "pause") {
      const chosen = document.querySelector('#dialog-body input[name="reason"]:checked');
      if (!chosen) return void ($("dialog-error").textContent = "请选择原因 (choose a reason)");
      body = { reason: chosen.value };
    } else if (action === "transfer") {
      const win = $("transfer-window").value;
      const service = $("transfer-service").value;
      if (!win && !service) return void ($("dialog-error").textContent = "请选择窗口或事项 (choose a window or a service)");
      body = { note: $("transfer-note").value.trim() };
      if (win) body.window = Number(win);
      if (service) body.service = service;
    } else if (action === "call") {
      const number = $("call-number").value.trim().toUpperCase();
      if (!number) return void ($("dialog-error").textContent = "请输入号码 (type the number)");
      body = { number };
    }
    try {
      await send(action, body);
      closeDialog();
    } catch (error) {
      $("dialog-error").textContent = error.message || "网络故障 (network error)";
    }
  });

  // ------------------------------------------------------------------ keyboard and buttons

  for (const button of document.querySelectorAll("#buttons [data-action]")) {
    button.addEventListener("click", () => press(button.dataset.action));
  }

  document.addEventListener("keydown", (event) => {
    if (page.dialog) {
      if (event.key === "Escape") closeDialog();
      return;
    }
    if (document.body.dataset.view !== "desk" || event.repeat) return;
    if (event.ctrlKey || event.altKey || event.metaKey) return;
    if (/^(INPUT|TEXTAREA|SELECT)$/.test(event.target.tagName)) return;
    const button = document.querySelector(`#buttons [data-key="${event.key.toLowerCase()}"]`);
    if (!button || button.hidden) return;
    event.preventDefault();
    press(button.dataset.action);
  });

  $("switch").addEventListener("click", () => {
    page.number = null;
    showChoose();
  });

  // ------------------------------------------------------------------ realtime

  function offline(down) {
    $("offline").hidden = !down;
    const conn = $("conn");
    conn.dataset.state = down ? "down" : "up";
    $("conn-label").textContent = down ? "离线 Offline" : "在线 Online";
    conn.querySelector(".conn").classList.toggle("up", !down);
  }

  function connect() {
    if (page.hall) return;
    page.hall = new HallClient({
      auth: { token: page.token },
      onConnection: (up, error) => {
        offline(!up);
        if (up) loadDesk();
        else if (hallDevice.refusedToken(error)) hallStaff.expired(); // the login ended elsewhere
      },
    });
    page.hall.on("*", (event) => {
      if (page.number == null) return;
      const mine = [event.window, event.to_window, event.from_window, event.target_window].includes(page.number);
      schedule(mine ? 50 : 400);
    });
    page.hall.connect();
  }

  function schedule(delayMs) {
    if (page.refreshTimer) return;
    page.refreshTimer = setTimeout(() => {
      page.refreshTimer = null;
      loadDesk();
    }, delayMs);
  }

  setInterval(tick, 1000);
  setInterval(() => page.number != null && loadDesk(), 30000); // a slow safety net beside the events

  hallStaff.login({ roles: ["staff", "supervisor", "admin"], onReady: start });
})();
