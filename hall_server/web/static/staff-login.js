/*
 * The one staff login of the hall's pages: window, dashboard, reports, admin, and the landing
 * page's admin links. The form is templates/_staff_login.html (#login).
 *
 *   hallStaff.login({roles: ["supervisor", "admin"], onReady: (session) => start(session)});
 *
 * The login is kept in localStorage ("hall.staff": {token, login, name, role}) so the pages
 * share it. A kept login is checked with GET /staff/me before the page starts. It ends:
 * - at #logout: POST /staff/logout ends the token on the server (and pauses or closes the
 *   staff member's window, as the hall's policy says), and the page forgets it;
 * - when any call with it answers 401 (hallFetch) or the hall log refuses it
 *   (hallStaff.expired): the page forgets it and shows the login again.
 * Forgetting reloads the page, so nothing the login showed stays on screen.
 */
(function (global) {
  "use strict";
  const KEY = "hall.staff";
  const MESSAGE = "hall.staff.message"; // sessionStorage: a sentence for the login after the reload
  const OLD_KEYS = ["hall.window.token"]; // the window page's own login before there was one
  const EXPIRED = "登录已失效，请重新登录 (session ended: log in again)";
  const store = global.localStorage;

  function saved() {
    try { return JSON.parse(store.getItem(KEY) || "null"); } catch (e) { return null; }
  }

  /* Forget the login and start the page again at the login, saying why. */
  function forget(message) {
    store.removeItem(KEY);
    if (message) global.sessionStorage.setItem(MESSAGE, message);
    global.location.reload();
  }

  global.hallFetch.onUnauthorized((_error, token) => {
    const session = saved();
    if (session && session.token === token) forget(EXPIRED);
  });

  function windowsLeft(answer) {
    return ((answer && answer.windows) || [])
      .map((w) => `${w.number}号窗口已${w.state === "closed" ? "关闭" : "暂停"} (window ${w.number} ${w.state})`)
      .join("；");
  }

  async function logout() {
    const session = saved();
    store.removeItem(KEY); // first: even when the server cannot be reached, this browser forgets it
    let text = "";
    if (session) {
      try {
        const ending = global.hallFetch("/staff/logout", { method: "POST", token: session.token });
        global.hallFetch.end(session.token); // the page's other calls stop now, not with a 401 each
        text = windowsLeft(await ending);
      } catch (error) {
        text = error.status ? "" : "已退出；服务器暂时无法连接 (logged out here; the server could not be reached)";
      }
    }
    if (text) global.sessionStorage.setItem(MESSAGE, text);
    global.location.reload();
  }

  /*
   * Show #login until a login of one of `roles` succeeds, then call onReady(session).
   * blocking: hide the page's <main> while logged out (body.logged-out); the landing page
   * shows its links to everyone and passes false.
   */
  function login({ roles, onReady, blocking = true }) {
    for (const key of OLD_KEYS) store.removeItem(key);
    const panel = document.getElementById("login");
    const form = panel.querySelector("form");
    const error = panel.querySelector(".error");
    const button = form.querySelector("button[type=submit]");
    const message = global.sessionStorage.getItem(MESSAGE) || "";
    global.sessionStorage.removeItem(MESSAGE);

    const show = (text) => {
      panel.hidden = false;
      if (blocking) document.body.classList.add("logged-out");
      error.textContent = text || "";
      form.login.focus();
    };
    const ready = (session) => {
      panel.hidden = true;
      document.body.classList.remove("logged-out");
      for (const el of document.querySelectorAll("[data-staff-name]")) el.textContent = session.name || session.login;
      onReady(session);
    };

    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      error.textContent = "";
      button.disabled = true;
      const body = { login: form.login.value.trim(), password: form.password.value };
      try {
        const answer = await global.hallFetch("/auth/login", { method: "POST", body });
        if (!roles.includes(answer.role)) {
          global.hallFetch("/auth/logout", { method: "POST", token: answer.token }).catch(() => {});
          show("此账号无权使用本页面 (this login may not use this page)");
          return;
        }
        const before = saved();
        if (before && before.token !== answer.token) {
          // One login per browser: the one it replaces ends on the server too.
          global.hallFetch("/auth/logout", { method: "POST", token: before.token }).catch(() => {});
        }
        const session = { token: answer.token, login: answer.login, name: answer.name || answer.login, role: answer.role };
        store.setItem(KEY, JSON.stringify(session));
        form.password.value = "";
        ready(session);
      } catch (err) {
        show(err.status ? err.message : "无法连接服务器 (cannot reach the server)");
      } finally {
        button.disabled = false;
      }
    });

    for (const el of document.querySelectorAll("#logout")) el.addEventListener("click", logout);

    const session = saved();
    if (!session || !roles.includes(session.role)) {
      show(message);
      return;
    }
    // Check the kept login still works before starting (a 401 forgets it: see onUnauthorized).
    global.hallFetch("/staff/me", { token: session.token })
      .then((me) => {
        if (!roles.includes(me.role)) { show(message); return; }
        ready(Object.assign(session, { name: me.name, role: me.role }));
      })
      .catch((err) => {
        if (err.status === 401) return;
        if (err.status) show(err.message);
        else ready(session); // the server is not answering yet: the page says so and catches up
      });
  }

  function fmtMinutes(seconds) {
    if (seconds == null) return "—";
    return (seconds / 60).toFixed(1);
  }

  function fmtPercent(share) {
    return share == null ? "—" : (share * 100).toFixed(1) + "%";
  }

  global.hallStaff = { login, logout, expired: () => forget(EXPIRED), saved };
  global.fmtMinutes = fmtMinutes;
  global.fmtPercent = fmtPercent;
})(window);
