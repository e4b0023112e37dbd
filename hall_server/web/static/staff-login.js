/*
 * Staff login for the supervisor's pages (dashboard, reports, admin).
 *
 *   staffLogin({roles: ["supervisor", "admin"], onReady: (session) => start(session)});
 *
 * Shows #login until a login of an allowed role succeeds; keeps {token, role, name} in
 * localStorage ("hall.staff") so the pages share one login; #logout ends it.
 */
(function (global) {
  "use strict";
  const KEY = "hall.staff";

  function saved() {
    try { return JSON.parse(global.localStorage.getItem(KEY) || "null"); } catch (e) { return null; }
  }

  function staffLogin({ roles, onReady }) {
    const panel = document.getElementById("login");
    const form = panel.querySelector("form");
    const error = panel.querySelector(".error");
    const show = (message) => {
      panel.hidden = false;
      document.body.classList.add("logged-out");
      error.textContent = message || "";
    };
    const ready = (session) => {
      panel.hidden = true;
      document.body.classList.remove("logged-out");
      for (const el of document.querySelectorAll("[data-staff-name]")) el.textContent = session.name || session.login;
      onReady(session);
    };
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const body = { login: form.login.value.trim(), password: form.password.value };
      try {
        const session = await global.hallApi("/auth/login", { method: "POST", body });
        if (!roles.includes(session.role)) {
          show("此账号无权使用本页面 (this login may not use this page)");
          return;
        }
        global.localStorage.setItem(KEY, JSON.stringify(session));
        form.password.value = "";
        ready(session);
      } catch (err) {
        show(err.message);
      }
    });
    const logout = document.getElementById("logout");
    if (logout) {
      logout.addEventListener("click", async () => {
        const session = saved();
        global.localStorage.removeItem(KEY);
        if (session) await global.hallApi("/auth/logout", { method: "POST", token: session.token }).catch(() => {});
        global.location.reload();
      });
    }
    const session = saved();
    if (session && roles.includes(session.role)) {
      // Check the token still works before starting; a stale one shows the login again.
      global.hallApi("/alarms", { token: session.token })
        .then(() => ready(session))
        .catch((err) => { if (err.status === 401 || err.status === 403) { global.localStorage.removeItem(KEY); show(); } else ready(session); });
    } else {
      show();
    }
  }

  /* Fetch with the staff token; a 401 sends the page back to the login. */
  async function staffApi(session, path, options = {}) {
    try {
      return await global.hallApi(path, Object.assign({ token: session.token }, options));
    } catch (err) {
      if (err.status === 401) { global.localStorage.removeItem(KEY); global.location.reload(); }
      throw err;
    }
  }

  function fmtMinutes(seconds) {
    if (seconds == null) return "—";
    return (seconds / 60).toFixed(1);
  }

  function fmtPercent(share) {
    return share == null ? "—" : (share * 100).toFixed(1) + "%";
  }

  global.staffLogin = staffLogin;
  global.staffApi = staffApi;
  global.fmtMinutes = fmtMinutes;
  global.fmtPercent = fmtPercent;
})(window);
