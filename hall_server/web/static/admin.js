/*
 * The admin page: one tab per part of the hall. Lists come from /api/v1/admin/…, edits go
 * back there; a refused edit shows the server's message next to the field it names.
 */
(function () {
  "use strict";
  const $ = (sel) => document.querySelector(sel);
  let session = null;
  let tab = "services";

  const esc = (text) => String(text == null ? "" : text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));

  // Text forms of structured fields.
  const periods = {
    show: (v) => (v || []).map((p) => p.join("-")).join(", "),
    read: (t) => t.split(/[,，\s]+/).filter(Boolean).map((p) => p.split("-").map((x) => x.trim())),
  };
  const numbers = {
    show: (v) => (v || []).join(", "),
    read: (t) => t.split(/[,，\s]+/).filter(Boolean).map(Number),
  };
  const weights = {
    show: (v) => Object.entries(v || {}).map(([k, w]) => `${k}:${w}`).join(", "),
    read: (t) => Object.fromEntries(t.split(/[,，\s]+/).filter(Boolean).map((p) => { const [k, w] = p.split(":"); return [k.trim(), Number(w || 1)]; })),
  };
  const optionalNumber = { show: (v) => (v == null ? "" : v), read: (t) => (t.trim() === "" ? null : Number(t)) };
  const number = { show: (v) => v, read: (t) => Number(t) };
  // One material per line (办事指南 所需材料).
  const lines = {
    show: (v) => (v || []).join("\n"),
    read: (t) => t.split(/\r?\n/).map((x) => x.trim()).filter(Boolean),
  };

  // [field, 中文, English, kind, options]
  const FORMS = {
    services: [
      ["code", "编码", "Code", "text", { key: true }], ["name", "名称", "Name", "text"], ["name_en", "英文名", "English name", "text"],
      ["category", "类别", "Category", "text"], ["prefix", "号码前缀", "Prefix", "text"], ["zone", "区域", "Zone", "text"],
      ["floor", "楼层", "Floor", "number"], ["hours", "办理时段", "Hours (08:30-12:00, 13:30-17:30)", "text", { codec: periods }],
      ["weekdays", "办理日(1-7)", "Weekdays", "text", { codec: numbers }], ["daily_cap", "每日上限", "Daily cap", "number", { codec: optionalNumber }],
      ["avg_handle_min", "平均办理(分)", "Avg handling (min)", "number"], ["sla_wait_min", "承诺等候(分)", "SLA wait (min)", "number"],
      ["wait_yellow_min", "黄色预警(分)", "Yellow alarm (min)", "number", { codec: optionalNumber }],
      ["wait_red_min", "红色预警(分)", "Red alarm (min)", "number", { codec: optionalNumber }],
      ["guide.materials", "所需材料（每行一项）", "Required documents (one per line)", "textarea", { codec: lines }],
      ["guide.fee", "收费", "Fee", "text"], ["guide.time_limit", "办理时限", "Time limit", "text"],
      ["guide.notes", "备注", "Notes", "textarea"],
    ],
    windows: [
      ["number", "窗口号", "Number", "number", { key: true }], ["name", "名称", "Name", "text"], ["zone", "区域", "Zone", "text"],
      ["floor", "楼层", "Floor", "number"], ["general", "综合窗口", "General window", "checkbox"],
      ["services", "事项及权重", "Services:weight (a:3, b:1)", "text", { codec: weights }],
    ],
    devices: [
      ["name", "设备名", "Name", "text", { key: true }], ["kind", "类型", "Kind", "select", { options: ["kiosk", "display", "agent", "evaluator"] }],
      ["label", "位置名称", "Place, as visitors know it (1楼入口东侧自助机)", "text"], ["zone", "区域", "Zone", "text"], ["floor", "楼层", "Floor", "number", { codec: optionalNumber }],
      ["windows", "所属窗口", "Windows", "text", { codec: numbers }], ["layout", "显示范围", "Layout", "select", { options: ["all", "zone", "floor"] }],
    ],
    staff: [
      ["login", "登录名", "Login", "text", { key: true }], ["name", "姓名", "Name", "text"],
      ["role", "角色", "Role", "select", { options: ["staff", "supervisor", "admin"] }],
      ["password", "新密码", "New password", "password"], ["active", "启用", "Active", "checkbox"],
    ],
    settings: [
      ["name", "大厅名称", "Hall name", "text"], ["name_en", "英文名称", "English name", "text"],
      ["alarms.wait_yellow_min", "等候黄色预警(分)", "Wait yellow (min)", "number"], ["alarms.wait_red_min", "等候红色预警(分)", "Wait red (min)", "number"],
      ["alarms.handle_yellow_min", "办理黄色预警(分)", "Handling yellow (min)", "number"], ["alarms.handle_red_min", "办理红色预警(分)", "Handling red (min)", "number"],
      ["alarms.idle_with_queue_min", "空闲有人等候(分)", "Idle with queue (min)", "number"],
      ["alarms.pause_yellow_min", "暂停黄色预警(分)", "Pause yellow (min)", "number"], ["alarms.pause_red_min", "暂停红色预警(分)", "Pause red (min)", "number"],
      ["alarms.sla_share", "按时叫号目标比例(0-1)", "Share called within target (0-1)", "number"], ["alarms.sla_recent_min", "加开窗口预警统计(分)", "Open-a-window alarm: recent (min)", "number"],
      ["policy.max_recalls", "最多重呼次数", "Max recalls", "number"], ["policy.aging_min", "等候加权(分)", "Aging (min)", "number"],
      ["policy.priority_swap_ratio", "优先号比例", "Priority swap ratio", "number"],
    ],
  };

  const get = (obj, path) => path.split(".").reduce((o, k) => (o == null ? o : o[k]), obj);

  function form(kind, item, creating) {
    return `<form class="editor" data-form="${kind}">` + FORMS[kind].map(([field, zh, en, type, opt = {}]) => {
      if (opt.key && !creating) return "";
      const value = opt.codec ? opt.codec.show(get(item, field)) : get(item, field);
      let input;
      if (type === "select") {
        input = `<select name="${field}">${opt.options.map((o) => `<option ${o === value ? "selected" : ""}>${o}</option>`).join("")}</select>`;
      } else if (type === "textarea") {
        input = `<textarea name="${field}" rows="3">${esc(value == null ? "" : value)}</textarea>`;
      } else if (type === "checkbox") {
        input = `<input type="checkbox" name="${field}" ${value ? "checked" : ""}>`;
      } else {
        input = `<input name="${field}" type="${type === "number" && !opt.codec ? "number" : type === "password" ? "password" : "text"}" step="any" value="${esc(value == null ? "" : value)}">`;
      }
      return `<label data-field="${field}">${zh} <span class="en">${en}</span>${input}<span class="field-error"></span></label>`;
    }).join("") + `<div class="actions"><button class="primary" type="submit">保存 <span class="en">Save</span></button>
      <button class="secondary" type="button" data-cancel>取消 <span class="en">Cancel</span></button><span class="error form-error"></span></div></form>`;
  }

  function readForm(kind, formEl, creating) {
    const body = {};
    for (const [field, , , type, opt = {}] of FORMS[kind]) {
      if (opt.key && !creating) continue;
      const input = formEl.elements[field];
      let value = type === "checkbox" ? input.checked : input.value;
      if (type === "password" && !value) continue;
      if (opt.codec) value = opt.codec.read(value);
      else if (type === "number") value = value === "" ? null : Number(value);
      const parts = field.split(".");
      if (parts.length === 2) (body[parts[0]] = body[parts[0]] || {})[parts[1]] = value;
      else body[field] = value;
    }
    return body;
  }

  function showErrors(formEl, err) {
    formEl.querySelector(".form-error").textContent = err.message;
    for (const label of formEl.querySelectorAll("label")) { label.classList.remove("bad"); label.querySelector(".field-error").textContent = ""; }
    for (const f of err.fields || []) {
      const labels = [...formEl.querySelectorAll("label[data-field]")];
      const label = labels.find((l) => f.field === l.dataset.field || f.field.startsWith(l.dataset.field + "."));
      if (label) { label.classList.add("bad"); label.querySelector(".field-error").textContent = f.message; }
    }
  }

  // A 401 forgets the login and shows it again (staff-login.js); other refusals come back as errors.
  function call(path, options) {
    return hallFetch(path, Object.assign({ token: session.token }, options || {}));
  }

  function editable(kind, items, keyField, columns, extraButtons) {
    const panel = $("#panel");
    panel.innerHTML = `<div class="actions"><button class="primary" data-new>新增 <span class="en">Add</span></button><span class="notice" id="saved"></span></div>
      <div id="editor"></div><table class="grid"><thead><tr>${columns.map((c) => `<th>${c[1]}<span class="en">${c[2]}</span></th>`).join("")}<th>操作<span class="en">Actions</span></th></tr></thead>
      <tbody>${items.map((item) => `<tr data-key="${esc(item[keyField])}">${columns.map((c) => `<td>${esc(c[3] ? c[3](item) : item[c[0]])}</td>`).join("")}
      <td><button data-edit="${esc(item[keyField])}">编辑 Edit</button>${extraButtons ? extraButtons(item) : ""}</td></tr>`).join("")}</tbody></table>`;
    const open = (item, creating) => {
      $("#editor").innerHTML = form(kind, item, creating);
      const formEl = $("#editor form");
      formEl.querySelector("[data-cancel]").onclick = () => { $("#editor").innerHTML = ""; };
      formEl.onsubmit = async (e) => {
        e.preventDefault();
        const body = readForm(kind, formEl, creating);
        const base = kind === "staff" ? "/admin/staff" : "/admin/" + kind;
        try {
          const result = await call(creating ? base : `${base}/${encodeURIComponent(item[keyField])}`, { method: creating ? "POST" : "PUT", body });
          await load();
          $("#saved").textContent = "已保存 Saved" + (result.token ? "" : "");
          if (result.token) $("#editor").innerHTML = `<p>设备令牌（只显示一次）Device token, shown once:</p><p class="token">${esc(result.token)}</p>`;
        } catch (err) { showErrors(formEl, err); }
      };
    };
    panel.querySelector("[data-new]").onclick = () => open({}, true);
    panel.querySelector("tbody").onclick = (e) => {
      const key = e.target.dataset.edit;
      if (key !== undefined) open(items.find((i) => String(i[keyField]) === key), false);
    };
  }

  const TABS = {
    async services() {
      const { config } = await call("/admin/config");
      editable("services", config.services, "code", [
        ["code", "编码", "Code"], ["name", "名称", "Name"], ["prefix", "前缀", "Prefix"], ["zone", "区域", "Zone"],
        ["hours", "时段", "Hours", (s) => periods.show(s.hours)], ["sla_wait_min", "承诺等候", "SLA"],
        ["alarm", "预警(黄/红)", "Alarm", (s) => `${s.wait_yellow_min || "—"} / ${s.wait_red_min || "—"}`],
      ]);
    },
    async windows() {
      const { config } = await call("/admin/config");
      editable("windows", config.windows, "number", [
        ["number", "窗口", "No."], ["name", "名称", "Name"], ["zone", "区域", "Zone"], ["general", "综合", "General", (w) => (w.general ? "是" : "")],
        ["services", "事项:权重", "Services:weight", (w) => weights.show(w.services)],
      ]);
    },
    async staff() {
      const { staff } = await call("/admin/staff");
      editable("staff", staff, "login", [
        ["login", "登录名", "Login"], ["name", "姓名", "Name"], ["role", "角色", "Role"], ["active", "启用", "Active", (s) => (s.active ? "是" : "否")],
        ["locked", "锁定", "Locked", (s) => (s.locked ? "已锁定 locked" : "")],
      ], (s) => (s.locked ? `<button data-unlock="${esc(s.login)}">解锁 Unlock</button>` : ""));
      // A login locked after too many wrong passwords: lifting it is audited (login.unlocked).
      $("#panel tbody").addEventListener("click", async (e) => {
        const login = e.target.dataset.unlock;
        if (!login) return;
        try {
          await call(`/staff/${encodeURIComponent(login)}/unlock`, { method: "POST" });
          await TABS.staff();
          $("#saved").textContent = `${login} 已解锁 Unlocked`;
        } catch (err) { $("#saved").textContent = err.message; }
      });
    },
    async devices() {
      const { config } = await call("/admin/config");
      const { devices } = await call("/admin/devices");
      const status = Object.fromEntries(devices.map((d) => [d.name, d]));
      editable("devices", config.devices, "name", [
        ["name", "设备", "Name"], ["label", "位置", "Place"], ["kind", "类型", "Kind"], ["windows", "窗口", "Windows", (d) => numbers.show(d.windows)],
        ["state", "状态", "State", (d) => (status[d.name] && status[d.name].revoked ? "已停用 revoked" : Object.entries((status[d.name] || {}).status || {}).map(([p, s]) => `${p}:${s.health}`).join(" ") || "—")],
      ], (d) => `<button data-rotate="${esc(d.name)}">换令牌 Rotate</button><button data-revoke="${esc(d.name)}">停用 Revoke</button>`);
      $("#panel tbody").addEventListener("click", async (e) => {
        const name = e.target.dataset.rotate || e.target.dataset.revoke;
        if (!name) return;
        const action = e.target.dataset.rotate ? "rotate" : "revoke";
        const result = await call(`/admin/devices/${encodeURIComponent(name)}/${action}`, { method: "POST" });
        await TABS.devices();
        if (result.token) $("#editor").innerHTML = `<p>${esc(name)} 新令牌（只显示一次）new token, shown once:</p><p class="token">${esc(result.token)}</p>`;
      });
    },
    async notices() {
      const { config } = await call("/admin/config");
      $("#panel").innerHTML = `<form class="editor single" data-form="notices"><label data-field="notices">公告（每行一条）<span class="en">Notices, one a line</span>
        <textarea name="notices" rows="6">${esc(config.notices.join("\n"))}</textarea><span class="field-error"></span></label>
        <div class="actions"><button class="primary" type="submit">保存 <span class="en">Save</span></button><span class="error form-error"></span><span class="notice" id="saved"></span></div></form>`;
      const formEl = $("#panel form");
      formEl.onsubmit = async (e) => {
        e.preventDefault();
        try { await call("/admin/notices", { method: "PUT", body: { notices: formEl.notices.value.split("\n") } }); $("#saved").textContent = "已保存并推送 Saved and pushed"; }
        catch (err) { showErrors(formEl, err); }
      };
    },
    async settings() {
      const { config } = await call("/admin/config");
      $("#panel").innerHTML = form("settings", config, false).replace("data-cancel", "data-cancel hidden") + '<span class="notice" id="saved"></span>';
      const formEl = $("#panel form");
      formEl.onsubmit = async (e) => {
        e.preventDefault();
        try { await call("/admin/settings", { method: "PUT", body: readForm("settings", formEl, false) }); $("#saved").textContent = "已保存 Saved"; showErrors(formEl, { message: "" }); }
        catch (err) { showErrors(formEl, err); }
      };
    },
    async toml() {
      const text = await call("/admin/config.toml");
      $("#panel").innerHTML = `<p>导出当前布局，修改后导入；导入前整体校验。<span class="en">Export the layout, edit, import: checked as a whole first.</span></p>
        <textarea class="toml" id="toml" aria-label="大厅布局 TOML (hall layout as TOML)">${esc(text)}</textarea>
        <div class="actions"><button class="primary" id="import">导入 <span class="en">Import</span></button><span class="error" id="toml-error"></span><span class="notice" id="saved"></span></div>`;
      $("#import").onclick = async () => {
        $("#toml-error").textContent = ""; $("#saved").textContent = "";
        try { const r = await call("/admin/config.toml", { method: "POST", body: $("#toml").value, type: "application/toml" }); $("#saved").textContent = r.changed ? "已导入 Imported" : "无变化 Unchanged"; }
        catch (err) { $("#toml-error").textContent = err.message; }
      };
    },
    async webhooks() {
      const { webhooks, events } = await call("/admin/webhooks");
      const { deliveries } = await call("/admin/webhooks/deliveries");
      $("#panel").innerHTML = `<form class="editor" id="hook"><label data-field="url">接收地址 <span class="en">URL</span><input name="url" placeholder="http://case-system/hall-events"><span class="field-error"></span></label>
        <label data-field="events">事件 <span class="en">Events</span><select name="events" multiple size="6">${events.map((e) => `<option>${e}</option>`).join("")}</select><span class="field-error"></span></label>
        <div class="actions"><button class="primary" type="submit">新增订阅 <span class="en">Subscribe</span></button><span class="error form-error"></span></div></form><div id="secret"></div>
        <table class="grid"><thead><tr><th>编号<span class="en">Id</span></th><th>地址<span class="en">URL</span></th><th>事件<span class="en">Events</span></th><th>状态<span class="en">State</span></th><th></th></tr></thead>
        <tbody>${webhooks.map((w) => `<tr><td>${w.id}</td><td>${esc(w.url)}</td><td>${esc(w.events.join(" "))}</td><td>${w.active ? "启用" : "暂停"}</td>
        <td><button data-toggle="${w.id}" data-active="${w.active}">${w.active ? "暂停 Pause" : "启用 Resume"}</button></td></tr>`).join("")}</tbody></table>
        <h2>投递记录 <span class="en">Delivery log</span></h2>
        <table class="grid" id="deliveries"><thead><tr><th>时间</th><th>订阅</th><th>事件</th><th>序号</th><th>状态</th><th>尝试</th><th>响应</th><th>错误</th></tr></thead>
        <tbody>${deliveries.map((d) => `<tr data-state="${d.state}"><td>${esc((d.delivered_at || d.created_at || "").slice(11, 19))}</td><td>${d.subscription_id}</td><td>${esc(d.event_type)}</td>
        <td>${d.seq}</td><td>${esc(d.state)}</td><td>${d.attempts}</td><td>${d.last_status == null ? "—" : d.last_status}</td><td>${esc(d.last_error)}</td></tr>`).join("")}</tbody></table>`;
      const formEl = $("#hook");
      formEl.onsubmit = async (e) => {
        e.preventDefault();
        try {
          const created = await call("/admin/webhooks", { method: "POST", body: { url: formEl.url.value, events: [...formEl.events.selectedOptions].map((o) => o.value) } });
          await TABS.webhooks();
          $("#secret").innerHTML = `<p>签名密钥（只显示一次）Signing secret, shown once:</p><p class="token">${esc(created.secret)}</p>`;
        } catch (err) { showErrors(formEl, err); }
      };
      $("#panel tbody").onclick = async (e) => {
        const id = e.target.dataset.toggle;
        if (!id) return;
        await call(`/admin/webhooks/${id}`, { method: "PUT", body: { active: e.target.dataset.active !== "true" } });
        await TABS.webhooks();
      };
    },
    async audit() {
      const { changes } = await call("/admin/audit");
      $("#panel").innerHTML = `<table class="grid"><thead><tr><th>时间<span class="en">At</span></th><th>操作人<span class="en">By</span></th><th>部分<span class="en">Section</span></th>
        <th>操作<span class="en">Action</span></th><th>对象<span class="en">Key</span></th><th>字段<span class="en">Fields</span></th></tr></thead>
        <tbody>${changes.map((c) => `<tr><td>${esc(new Date(c.at).toLocaleString("zh-CN", { hour12: false }))}</td><td>${esc(c.actor)}</td>
        <td>${esc(c.section || (c.login ? "staff" : "notices"))}</td><td>${esc(c.action || (c.type === "login.locked" ? "locked 锁定" : c.type === "login.unlocked" ? "unlocked 解锁" : "updated"))}</td><td>${esc(c.key || c.login || "")}</td>
        <td>${esc((c.fields || []).join(", ") || (c.notices || []).join(" / "))}</td></tr>`).join("")}</tbody></table>`;
    },
  };

  async function load() {
    for (const b of document.querySelectorAll("#tabs button")) b.setAttribute("aria-selected", String(b.dataset.tab === tab));
    try { await TABS[tab](); } catch (err) { $("#panel").innerHTML = `<p class="error">${esc(err.message)}</p>`; }
  }

  function start(s) {
    session = s;
    $("#tabs").onclick = (e) => {
      const button = e.target.closest("button[data-tab]");
      if (button) { tab = button.dataset.tab; load(); }
    };
    load();
  }

  hallStaff.login({ roles: ["admin"], onReady: start });
})();
