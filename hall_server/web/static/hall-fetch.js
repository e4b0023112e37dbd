/*
 * hallFetch — the one way the hall's pages call the API (/api/v1), and the device token a
 * device page keeps. Loaded by every page (templates/base.html) before the page's scripts.
 *
 *   const data = await hallFetch("/kiosk/state", { token });
 *   await hallFetch("/windows/3/call-next", { method: "POST", token, idempotencyKey: hallNewKey() });
 *   const text = await hallFetch("/admin/config.toml", { token });             // text when not JSON
 *   const wav = await hallFetch("/display/voice?…", { token, as: "blob" });    // or as: "response"
 *
 * A refused call throws an Error with the server's sentence as its message and `status`,
 * `code` and `fields` from the answer; a call that got no answer throws one without `status`.
 * A 401 to a call made with a token also tells every hallFetch.onUnauthorized listener
 * (staff-login.js drops the staff login; device pages drop their device token).
 */
(function (global) {
  "use strict";

  const API = "/api/v1";
  const unauthorized = [];
  const ended = new Set(); // tokens this page ended (logout): never sent again

  async function hallFetch(path, { method = "GET", token, body, idempotencyKey, type, as = "auto" } = {}) {
    if (token && ended.has(token)) {
      const error = new Error("已退出登录 (logged out)");
      error.status = 401;
      error.code = "unauthorized";
      throw error;
    }
    const headers = {};
    if (token) headers.Authorization = "Bearer " + token;
    if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
    let payload;
    if (body !== undefined) {
      headers["Content-Type"] = type || "application/json";
      payload = type && typeof body === "string" ? body : JSON.stringify(body);
    }
    const response = await global.fetch(API + path, { method, headers, body: payload, credentials: "omit" });
    const isJson = (response.headers.get("Content-Type") || "").includes("json");
    if (!response.ok) {
      const data = isJson ? await response.json().catch(() => ({})) : {};
      const error = new Error((data.error && data.error.message) || response.statusText || "HTTP " + response.status);
      error.status = response.status;
      error.code = data.error && data.error.code;
      error.fields = data.error && data.error.fields;
      if (response.status === 401 && token) for (const fn of unauthorized) fn(error, token);
      throw error;
    }
    if (as === "response") return response;
    if (as === "blob") return response.blob();
    return isJson ? response.json() : response.text();
  }

  /* Call fn(error, token) whenever a call made with a token answers 401. */
  hallFetch.onUnauthorized = (fn) => unauthorized.push(fn);
  /* Send no more calls with `token` (it is being ended): they fail at once with status 401. */
  hallFetch.end = (token) => ended.add(token);

  function hallNewKey() {
    return (global.crypto && global.crypto.randomUUID) ? global.crypto.randomUUID() : String(Date.now()) + Math.random();
  }

  /*
   * A device page (kiosk, TV, evaluator) is opened once as ?token=…: the token is kept in
   * localStorage under `key` and removed from the address bar. hallDevice.revoked(key) forgets
   * it (the token answered 401 or the hall log refused it) and returns the sentence to show.
   */
  const REVOKED = ["此设备的令牌已被撤销，请联系管理员", "this device's token was revoked: ask an admin"];

  function hallStoredToken(key) {
    const params = new URLSearchParams(global.location.search);
    const fromUrl = params.get("token");
    if (fromUrl) {
      global.localStorage.setItem(key, fromUrl);
      params.delete("token");
      const rest = params.toString();
      global.history.replaceState(null, "", global.location.pathname + (rest ? "?" + rest : ""));
    }
    return global.localStorage.getItem(key);
  }

  /* True when a Socket.IO connect_error says the token itself was refused. */
  function refusedToken(error) {
    return Boolean(error && error.data && error.data.code === "unauthorized");
  }

  const hallDevice = {
    token: hallStoredToken,
    refusedToken,
    REVOKED,
    revoked(key) {
      global.localStorage.removeItem(key);
      return REVOKED;
    },
  };

  global.hallFetch = hallFetch;
  global.hallNewKey = hallNewKey;
  global.hallStoredToken = hallStoredToken;
  global.hallDevice = hallDevice;
})(window);
