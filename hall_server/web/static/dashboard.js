/*
 * The supervisor's live dashboard: windows, queues and alarms from the hall log
 * (HallClient), today's KPIs and charts from /api/v1/reports/today, refreshed after events.
 */
(function () {
  "use strict";
  const $ = (sel) => document.querySelector(sel);
  const LOOK_NAMES = {
    calling: "叫号中", serving: "办理中", paused: "暂停", closed: "已关闭", idle: "空闲", "idle-queue": "空闲·有人等候",
  };
  const KIND_NAMES = {
    long_wait: "等候超时", long_handle: "办理超时", idle_window: "窗口空闲", long_pause: "暂停超时",
    device_fault: "设备故障", bad_rating: "差评", open_window: "请加开窗口",
  };

  let session = null;
  let client = null;
  const alarms = new Map();
  let extras = { queues: {}, windows: {}, at: Date.now() };
  let charts = null;
  const TZ = document.body.dataset.tz || undefined; // the hall's clock, whatever the browser's
  const timeOf = (date) => date.toLocaleTimeString("zh-CN", { hour12: false, timeZone: TZ });

  function throttle(fn, ms) {
    let timer = null;
    let again = false;
    return function run() {
      if (timer) { again = true; return; }
      fn();
      timer = setTimeout(() => { timer = null; if (again) { again = false; run(); } }, ms);
    };
  }

  function esc(text) {
    return String(text == null ? "" : text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
  }

  function minutesSince(iso) {
    if (!iso) return null;
    return Math.max(0, (Date.now() - Date.parse(iso)) / 60000);
  }

  function windowLook(w, queues) {
    if (w.state === "closed") return "closed";
    if (w.state === "paused") return "paused";
    if (w.ticket && w.ticket.status === "called") return "calling";
    if (w.ticket && w.ticket.status === "serving") return "serving";
    const waiting = (w.services || []).some((code) => queues[code] && queues[code].waiting > 0);
    return waiting ? "idle-queue" : "idle";
  }

  function renderWindows(state) {
    const box = $("#windows");
    const html = Object.values(state.windows).sort((a, b) => a.number - b.number).map((w) => {
      const look = windowLook(w, state.queues);
      const staff = (extras.windows[w.number] || {}).staff || w.staff || "";
      const reason = w.state === "paused" && w.pause_reason ? "（" + esc(w.pause_reason) + "）" : "";
      const since = w.ticket ? minutesSince(w.ticket.started_at || w.ticket.called_at) : minutesSince(w.state_since);
      return `<div class="win" data-window="${w.number}" data-look="${look}" data-state="${esc(w.state)}">
        <div class="no">${w.number}号窗口</div>
        <div class="since">${since == null ? "" : Math.floor(since) + "分"}</div>
        <div class="st">${LOOK_NAMES[look]}${reason}</div>
        <div class="staff">${esc(staff) || "&nbsp;"}</div>
        <div class="ticket">${w.ticket ? esc(w.ticket.number) : ""}</div>
      </div>`;
    }).join("");
    box.innerHTML = html;
  }

  function longestWait(q) {
    if (!q.waiting) return 0;
    const extra = extras.queues[q.service];
    if (!extra || !extra.longest_wait_s) return null;
    return extra.longest_wait_s / 60 + (Date.now() - extras.at) / 60000;
  }

  function renderServices(state) {
    const rows = Object.values(state.queues).map((q) => {
      const extra = extras.queues[q.service] || {};
      const longest = longestWait(q);
      const eta = extra.eta_s;
      return `<tr data-service="${esc(q.service)}" class="${longest != null && longest >= 20 ? "warn" : ""}">
        <td>${esc(q.name)} <span class="en">${esc(q.name_en || "")}</span></td>
        <td class="num waiting">${q.waiting}</td>
        <td class="num">${longest == null ? "…" : longest.toFixed(0)}</td>
        <td class="num">${q.waiting && eta != null ? (eta / 60).toFixed(0) : "—"}</td>
        <td class="num served">${q.served}</td>
        <td class="num">${extra.windows_open != null ? extra.windows_open : (q.windows_open != null ? q.windows_open : "—")}</td>
      </tr>`;
    }).join("");
    $("#services tbody").innerHTML = rows;
  }

  function renderAlarms() {
    const list = [...alarms.values()].sort((a, b) => (a.level === b.level ? b.id - a.id : a.level === "red" ? -1 : 1));
    $("#alarm-count").textContent = list.length ? `（${list.length}）` : "";
    if (!list.length) {
      $("#alarms").innerHTML = '<p class="none">暂无预警 <span class="en">No alarms</span></p>';
      return;
    }
    $("#alarms").innerHTML = list.map((a) => {
      const raised = a.raised_at ? timeOf(new Date(a.raised_at)) : "";
      const ack = a.acked_by
        ? `<span class="acked">已确认 ${esc(a.acked_by)} <span class="en">acknowledged</span></span>`
        : `<button class="ack" data-ack="${a.id}">确认 <span class="en">Acknowledge</span></button>`;
      return `<div class="alarm" data-alarm-id="${a.id}" data-level="${esc(a.level)}" data-kind="${esc(a.kind)}">
        <div class="what">${a.level === "red" ? "红色预警" : "黄色预警"} · ${esc(KIND_NAMES[a.kind] || a.kind)}</div>
        <div class="msg">${esc(a.message)}</div>
        <div class="meta"><span>${raised}</span>${ack}</div>
      </div>`;
    }).join("");
  }

  function applyAlarmEvent(event) {
    if (event.type === "alarm.raised") {
      const before = alarms.get(event.alarm_id) || {};
      alarms.set(event.alarm_id, Object.assign({}, before, {
        id: event.alarm_id, kind: event.kind, level: event.level, subject: event.subject, message: event.message,
        raised_at: event.raised_at || before.raised_at || event.at, acked_by: event.acked_by || before.acked_by || "",
      }));
    } else if (event.type === "alarm.cleared") {
      alarms.delete(event.alarm_id);
    }
  }

  function setKpi(name, text, unit) {
    const el = document.querySelector(`[data-kpi="${name}"] .value`);
    if (el) el.innerHTML = esc(text) + (unit ? `<span class="unit">${unit}</span>` : "");
  }

  function renderToday(data) {
    const k = data.kpis;
    setKpi("tickets", k.tickets);
    setKpi("served", k.served);
    setKpi("no_show_rate", fmtPercent(k.no_show_rate));
    setKpi("wait_mean_s", fmtMinutes(k.wait_mean_s), "分");
    setKpi("wait_p90_s", fmtMinutes(k.wait_p90_s), "分");
    setKpi("handle_mean_s", fmtMinutes(k.handle_mean_s), "分");
    setKpi("sla_share", fmtPercent(k.sla_share));
    setKpi("satisfaction", k.satisfaction == null ? "—" : k.satisfaction.toFixed(2), "/5");
    setKpi("bad", k.bad);
    if (!charts || !global_echarts()) return;
    const hours = data.by_hour.hours.slice(7, 20);
    charts.hours.setOption({
      tooltip: { trigger: "axis", renderMode: "richText" }, legend: { data: ["取号 Arrivals", "办结 Served"] },
      grid: { left: 40, right: 10, top: 35, bottom: 25 },
      xAxis: { type: "category", data: hours.map((h) => h + "时") }, yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: "取号 Arrivals", type: "bar", data: data.by_hour.arrivals.slice(7, 20), itemStyle: { color: "#0b4f9c" } },
        { name: "办结 Served", type: "line", smooth: true, data: data.by_hour.served.slice(7, 20), itemStyle: { color: "#1a7f37" } },
      ],
    });
    charts.waits.setOption({
      tooltip: { renderMode: "richText" }, grid: { left: 40, right: 10, top: 20, bottom: 25 },
      xAxis: { type: "category", data: data.wait_distribution.labels }, yAxis: { type: "value", minInterval: 1 },
      series: [{ type: "bar", data: data.wait_distribution.tickets, itemStyle: { color: "#c77700" } }],
    });
    charts.windows.setOption({
      tooltip: { renderMode: "richText" }, grid: { left: 40, right: 10, top: 20, bottom: 25 },
      xAxis: { type: "category", data: data.by_window.map((w) => w.window + "号") }, yAxis: { type: "value", minInterval: 1 },
      series: [{ type: "bar", data: data.by_window.map((w) => w.served), itemStyle: { color: "#1a7f37" } }],
    });
  }

  function global_echarts() { return window.echarts; }

  function pct(x) { return x == null ? "—" : Math.round(x * 100) + "%"; }

  function renderPlan(plan) {
    $("#staffing-day").textContent = plan.day;
    const box = $("#staffing-plan");
    if (!plan.cells.length) {
      box.innerHTML = '<p class="none">近' + plan.weeks + '周同一星期几还没有取号记录，暂无建议 <span class="en">No tickets on this weekday in the last ' + plan.weeks + " weeks yet: no advice</span></p>";
      $("#staffing-notes").innerHTML = "";
      return;
    }
    const hours = [...new Set(plan.cells.map((c) => c.hour))].sort((a, b) => a - b);
    const groups = [...new Set(plan.cells.map((c) => c.group))];
    const byKey = new Map(plan.cells.map((c) => [c.group + "@" + c.hour, c]));
    const head = "<tr><th>组 <span class=\"en\">Group</span></th>" + hours.map((h) => `<th class="num">${h}时</th>`).join("") + "</tr>";
    const rows = groups.map((g) => "<tr><td>" + esc(g) + "</td>" + hours.map((h) => {
      const c = byKey.get(g + "@" + h);
      if (!c) return '<td class="num">—</td>';
      const tip = `到达 ${c.arrivals_per_h}/时 · 办理 ${Math.round(c.handle_mean_s / 60)}分 · Erlang达标 ${pct(c.erlang_share)}` +
        (c.sim_share == null ? "" : ` · 模拟达标 ${pct(c.sim_share)}`) + ` (arrivals/h, handling, share within ${c.target_min} min)`;
      const cls = c.short ? "num short" : "num";
      return `<td class="${cls}" data-group="${esc(g)}" data-hour="${h}" data-windows="${c.windows}" title="${esc(tip)}">${c.windows}${c.added_after_simulation ? "+" : ""}</td>`;
    }).join("") + "</tr>").join("");
    box.innerHTML = `<table class="grid plan"><thead>${head}</thead><tbody>${rows}</tbody></table>`;
    $("#staffing-notes").innerHTML = plan.notes.map((n) => "<li>" + esc(n) + "</li>").join("");
  }

  function loadPlan(checkDays) {
    hallFetch("/staffing/plan" + (checkDays ? "?check_days=" + checkDays : ""), { token: session.token })
      .then(renderPlan)
      .catch((err) => { $("#staffing-plan").innerHTML = '<p class="none">' + esc(err.message) + "</p>"; });
  }

  const refreshToday = throttle(() => {
    hallFetch("/reports/today", { token: session.token }).then(renderToday).catch(() => {});
  }, 3000);

  const refreshExtras = throttle(() => {
    hallFetch("/snapshot", { token: session.token }).then((snap) => {
      extras = {
        at: Date.parse(snap.at) || Date.now(),
        queues: Object.fromEntries(snap.queues.map((q) => [q.service, q])),
        windows: Object.fromEntries(snap.windows.map((w) => [w.number, w])),
      };
      extras.at = Date.now(); // aged from now: the server and browser clocks may differ
      if (client && client.state) render(client.state);
    }).catch(() => {});
  }, 2000);

  function render(state) {
    renderWindows(state);
    renderServices(state);
  }

  function start(s) {
    session = s;
    if (global_echarts()) {
      charts = {
        hours: echarts.init($("#chart-hours")),
        waits: echarts.init($("#chart-waits")),
        windows: echarts.init($("#chart-windows")),
      };
      window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));
    }
    client = new HallClient({
      auth: { token: session.token },
      onConnection: (up, error) => {
        $("#conn").classList.toggle("up", up);
        if (hallDevice.refusedToken(error)) hallStaff.expired(); // the login ended elsewhere
      },
      onChange: (state, event) => {
        if (event === null) {
          alarms.clear();
          for (const a of state.alarms) alarms.set(a.id, Object.assign({}, a));
          renderAlarms();
          refreshExtras();
          refreshToday();
        } else if (event.type.startsWith("alarm.")) {
          applyAlarmEvent(event);
          renderAlarms();
        } else if (event.type.startsWith("ticket.") || event.type === "evaluation.recorded") {
          refreshToday();
          refreshExtras();
        } else if (event.type.startsWith("window.")) {
          refreshExtras();
        }
        render(state);
        document.body.dataset.seq = state.seq;
      },
    });
    client.connect();
    loadPlan(0);
    $("#staffing-check").addEventListener("click", () => loadPlan(1));
    document.getElementById("alarms").addEventListener("click", async (e) => {
      const button = e.target.closest("button[data-ack]");
      if (!button) return;
      button.disabled = true;
      try {
        await hallFetch(`/alarms/${button.dataset.ack}/ack`, { method: "POST", token: session.token });
      } catch (err) {
        button.disabled = false;
        alert(err.message);
      }
    });
    setInterval(() => { refreshExtras(); refreshToday(); }, 30000);
    setInterval(() => { if (client.state) render(client.state); }, 10000);
  }

  setInterval(() => { $("#clock").textContent = timeOf(new Date()); }, 1000);
  hallStaff.login({ roles: ["supervisor", "admin"], onReady: start });
})();
