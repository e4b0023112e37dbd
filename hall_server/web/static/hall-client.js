/*
 * HallClient — the browser side of the hall log (Socket.IO namespace /hall).
 *
 * Keeps the hall's state from a `snapshot` plus every `event` after it, in seq order:
 * a seq already applied is ignored, a gap asks the server to `resync`, events that arrive
 * before the first snapshot wait for it. On reconnect the client sends its last seq and
 * gets only what it missed (or a fresh snapshot when too far behind).
 *
 *   const hall = new HallClient({auth: {token}, onChange: (state, event) => render(state)});
 *   hall.on("ticket.called", (event) => announce(event));
 *   hall.connect();
 *
 * Needs /static/vendor/socket.io.min.js (built from npm, served locally); the API calls and the
 * device token are /static/hall-fetch.js's (hallFetch, hallStoredToken).
 */
(function (global) {
  "use strict";

  const RECENT_CALLS = 12;
  const AT_WINDOW = new Set(["called", "serving"]);

  class HallClient {
    constructor({ auth, onChange, onConnection, url } = {}) {
      this.auth = auth || {};
      this.onChange = onChange || (() => {});
      this.onConnection = onConnection || (() => {});
      this.url = url || "/hall";
      this.state = null; // {seq, windows: {n: window}, queues: {code: queue}, recent_calls, alarms, notices, hall}
      this.pending = new Map(); // "seq:counts?" -> message, waiting for a gap to fill or a snapshot
      this.handlers = new Map(); // type -> [fn]
      this.connected = false;
      this.socket = null;
    }

    on(type, fn) {
      if (!this.handlers.has(type)) this.handlers.set(type, []);
      this.handlers.get(type).push(fn);
      return this;
    }

    connect() {
      this.socket = global.io(this.url, {
        transports: ["websocket", "polling"],
        reconnectionDelay: 500,
        reconnectionDelayMax: 5000,
        // A function: every (re)connect sends the seq we have, so we get only what we missed.
        auth: (cb) => cb(Object.assign({}, this.auth, this.state ? { last_seq: this.state.seq } : {})),
      });
      this.socket.on("connect", () => this._connection(true));
      this.socket.on("disconnect", () => this._connection(false));
      this.socket.on("connect_error", (err) => this._connection(false, err));
      // A token that ended while connected (logged out, revoked): the server says why, then
      // closes the socket for good. Told like a refused connect, so the page says so at once
      // (hallDevice.refusedToken) instead of showing "reconnecting" forever.
      this.socket.on("error", (data) => {
        if (data && data.code === "unauthorized") this._connection(false, { message: data.message, data });
      });
      this.socket.on("snapshot", (snapshot) => this._snapshot(snapshot));
      this.socket.on("event", (event) => this._event(event));
      return this;
    }

    _connection(up, error) {
      this.connected = up;
      this.onConnection(up, error);
    }

    _snapshot(snapshot) {
      this.state = {
        seq: snapshot.seq,
        hall: snapshot.hall,
        business_day: snapshot.business_day,
        windows: Object.fromEntries(snapshot.windows.map((w) => [w.number, w])),
        queues: Object.fromEntries(snapshot.queues.map((q) => [q.service, q])),
        recent_calls: snapshot.recent_calls.slice(),
        alarms: snapshot.alarms.slice(),
        notices: snapshot.notices.slice(),
      };
      this.onChange(this.state, null);
      this._drain();
    }

    /*
     * The order (docs/API.md, "Realtime"): a message follows when the state has its `prev`
     * (staff events: seq - 1; public messages say it, so withheld issues leave no gap). A
     * seq already applied is a duplicate, except `queue.counts` at the state's own seq.
     */
    _event(event) {
      if (this.state && behind(this.state, event)) return; // seen: a duplicate is ignored
      this.pending.set(event.seq + (event.type === COUNTS ? ":1" : ":0"), event);
      if (!this.state) return; // wait for the snapshot
      if (!this._drain()) this.socket.emit("resync", { last_seq: this.state.seq }); // a gap: ask for what is missing
    }

    /* Apply what follows; true when nothing is left waiting for a missing message. */
    _drain() {
      if (!this.state) return false;
      for (const [key, message] of this.pending) if (behind(this.state, message)) this.pending.delete(key);
      while (this.pending.size) {
        let next = null;
        for (const message of this.pending.values()) {
          if (!next || message.seq < next.seq || (message.seq === next.seq && next.type === COUNTS)) next = message;
        }
        if (prevOf(next) > this.state.seq) return false;
        const event = next;
        this.pending.delete(event.seq + (event.type === COUNTS ? ":1" : ":0"));
        apply(this.state, event);
        this.state.seq = event.seq;
        this.onChange(this.state, event);
        for (const fn of this.handlers.get(event.type) || []) fn(event, this.state);
        for (const fn of this.handlers.get("*") || []) fn(event, this.state);
        // An admin changed the layout (windows, services, names): take a fresh snapshot.
        if (event.type === "config.changed" && this.socket) this.socket.emit("resync", {});
      }
      return true;
    }
  }

  const COUNTS = "queue.counts";
  const prevOf = (message) => (message.prev != null ? message.prev : message.seq - 1);
  const behind = (state, message) =>
    message.seq < state.seq || (message.seq === state.seq && message.type !== COUNTS);

  /* Apply one event to the state (the same rules as hall_server/realtime/client.py). */
  function apply(state, event) {
    const type = event.type;
    if (type.startsWith("ticket.")) {
      for (const w of Object.values(state.windows)) {
        if (w.ticket && w.ticket.id === event.ticket_id) w.ticket = null;
      }
      if (AT_WINDOW.has(event.state) && event.window != null && state.windows[event.window]) {
        const previous = state.windows[event.window].ticket;
        state.windows[event.window].ticket = {
          id: event.ticket_id,
          number: event.number,
          service: event.service,
          status: event.state,
          called_at: type === "ticket.called" || type === "ticket.recalled" ? event.at : previous && previous.called_at,
          started_at: type === "ticket.started" ? event.at : previous && previous.started_at,
          call_count: event.call_count,
        };
      }
      if (event.waiting != null && state.queues[event.service]) state.queues[event.service].waiting = event.waiting;
      if (type === "ticket.finished" && state.queues[event.service]) state.queues[event.service].served += 1;
      if (type === "ticket.called" || type === "ticket.recalled") {
        state.recent_calls.unshift(event);
        state.recent_calls.length = Math.min(state.recent_calls.length, RECENT_CALLS);
      }
    } else if (type.startsWith("window.")) {
      const w = state.windows[event.window];
      if (w) Object.assign(w, { state: event.state, pause_reason: event.reason || "", state_since: event.at });
    } else if (type === COUNTS) {
      for (const [code, waiting] of Object.entries(event.waiting || {})) {
        if (state.queues[code]) state.queues[code].waiting = waiting;
      }
    } else if (type === "notice.changed") {
      state.notices = event.notices.slice();
    } else if (type === "alarm.raised" && event.alarm_id != null) {
      state.alarms = state.alarms.filter((a) => a.id !== event.alarm_id);
      state.alarms.push({ id: event.alarm_id, kind: event.kind, level: event.level, subject: event.subject, message: event.message, raised_at: event.at });
    } else if (type === "alarm.cleared" && event.alarm_id != null) {
      state.alarms = state.alarms.filter((a) => a.id !== event.alarm_id);
    }
  }

  global.HallClient = HallClient;
  global.hallApply = apply;
})(window);
