/* The reports page: figures as a table and a chart; CSV and XLSX downloads. */
(function () {
  "use strict";
  const $ = (sel) => document.querySelector(sel);
  const COLUMNS = [
    ["tickets", "取号数", "Tickets", (v) => v],
    ["served", "办结数", "Served", (v) => v],
    ["no_show", "过号数", "No-shows", (v) => v],
    ["no_show_rate", "过号率", "No-show rate", fmtPercent],
    ["wait_mean_s", "平均等候(分)", "Mean wait", fmtMinutes],
    ["wait_p50_s", "等候中位数(分)", "Median wait", fmtMinutes],
    ["wait_p90_s", "等候P90(分)", "P90 wait", fmtMinutes],
    ["wait_max_s", "最长等候(分)", "Longest wait", fmtMinutes],
    ["handle_mean_s", "平均办理(分)", "Mean handling", fmtMinutes],
    ["handle_p90_s", "办理P90(分)", "P90 handling", fmtMinutes],
    ["sla_share", "按时叫号率", "Within SLA", fmtPercent],
    ["evaluations", "评价数", "Ratings", (v) => v],
    ["satisfaction", "满意度", "Satisfaction", (v) => (v == null ? "—" : v.toFixed(2))],
    ["bad", "差评数", "Bad", (v) => v],
  ];
  const GROUP_NAMES = { service: "事项", window: "窗口", staff: "人员", hour: "时段", hall: "全厅" };
  let session = null;
  let chart = null;

  function esc(text) {
    return String(text == null ? "" : text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
  }

  function params(format) {
    const form = $("#query");
    const query = new URLSearchParams({
      start: form.start.value, end: form.end.value, period: form.period.value, group: form.group.value,
    });
    if (format) query.set("format", format);
    return query.toString();
  }

  function render(report) {
    $("#report-title").innerHTML = `${esc(report.hall)} ${esc(report.start)} 至 ${esc(report.end)} <span class="en">${esc(report.period)} / ${esc(report.group)}</span>`;
    $("#report thead").innerHTML = "<tr><th>期间<span class='en'>Period</span></th><th>" + GROUP_NAMES[report.group] +
      "<span class='en'>Group</span></th>" + COLUMNS.map((c) => `<th class="num">${c[1]}<span class="en">${c[2]}</span></th>`).join("") + "</tr>";
    const row = (period, name, r, cls) => `<tr class="${cls || ""}"><td>${esc(period)}</td><td>${esc(name)}</td>` +
      COLUMNS.map((c) => `<td class="num" data-field="${c[0]}">${esc(c[3](r[c[0]]))}</td>`).join("") + "</tr>";
    $("#report tbody").innerHTML = report.rows.map((r) => row(r.period, r.name, r)).join("") +
      row(`${report.start}~${report.end}`, "合计 Total", report.total, "total");
    if (!chart && window.echarts) chart = echarts.init($("#report-chart"));
    if (chart) {
      const labels = report.rows.map((r) => (report.period === "range" ? r.name : r.period + " " + r.name));
      chart.setOption({
        tooltip: { trigger: "axis", renderMode: "richText" }, legend: { data: ["取号 Tickets", "办结 Served", "平均等候(分) Mean wait"] },
        grid: { left: 50, right: 50, top: 40, bottom: 60 },
        xAxis: { type: "category", data: labels, axisLabel: { rotate: labels.length > 8 ? 30 : 0 } },
        yAxis: [{ type: "value", name: "人次" }, { type: "value", name: "分钟" }],
        series: [
          { name: "取号 Tickets", type: "bar", data: report.rows.map((r) => r.tickets), itemStyle: { color: "#0b4f9c" } },
          { name: "办结 Served", type: "bar", data: report.rows.map((r) => r.served), itemStyle: { color: "#1a7f37" } },
          { name: "平均等候(分) Mean wait", type: "line", yAxisIndex: 1,
            data: report.rows.map((r) => (r.wait_mean_s == null ? null : +(r.wait_mean_s / 60).toFixed(1))), itemStyle: { color: "#c77700" } },
        ],
      }, true);
    }
  }

  async function show() {
    $("#report-error").textContent = "";
    try {
      render(await hallFetch("/reports?" + params(), { token: session.token }));
    } catch (err) {
      $("#report-error").textContent = err.message;
    }
  }

  async function download(format) {
    $("#report-error").textContent = "";
    let response;
    try {
      response = await hallFetch("/reports?" + params(format), { token: session.token, as: "response" });
    } catch (err) {
      $("#report-error").textContent = err.message;
      return;
    }
    const disposition = response.headers.get("Content-Disposition") || "";
    const name = (disposition.match(/filename="([^"]+)"/) || [])[1] || "report." + format;
    const url = URL.createObjectURL(await response.blob());
    const link = document.createElement("a");
    link.href = url;
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  function start(s) {
    session = s;
    const form = $("#query");
    const today = new Date();
    const iso = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
    form.end.value = iso(today);
    form.start.value = iso(new Date(today.getFullYear(), today.getMonth(), 1));
    form.addEventListener("submit", (e) => { e.preventDefault(); show(); });
    for (const button of document.querySelectorAll("[data-export]")) {
      button.addEventListener("click", () => download(button.dataset.export));
    }
    show();
  }

  hallStaff.login({ roles: ["supervisor", "admin"], onReady: start });
})();
