/*
 * AnnouncementQueue — plays call announcements (one server-made WAV per call) one at a
 * time, in the order the calls happened. A call that comes while another plays waits in
 * the queue; a recall is announced again. No speechSynthesis: the browser only plays WAVs.
 *
 *   const voice = new AnnouncementQueue({fetchWav: (call) => blobUrl, onChange: render});
 *   voice.push({seq, number, window, kind: "call" | "recall"});
 *
 * `voice.state` is plain data (tests read it as window.hallAudio): queue (waiting calls),
 * playing, played (finished, in order), failed, skipped, blocked (autoplay refused until a
 * tap), and playingMax: the most announcements ever playing at once (must stay 1).
 */
(function (global) {
  "use strict";

  const MAX_KEPT = 50; // played/failed/skipped entries kept for the page's state
  const SAFETY_S = 5; // an announcement not ended this long after its duration is given up

  function summary(item, extra) {
    return Object.assign({ seq: item.seq, number: item.number, window: item.window, kind: item.kind }, extra || {});
  }

  function keep(list, entry) {
    list.push(entry);
    if (list.length > MAX_KEPT) list.splice(0, list.length - MAX_KEPT);
  }

  class AnnouncementQueue {
    constructor({ fetchWav, onChange, makeAudio } = {}) {
      this.fetchWav = fetchWav;
      this.onChange = onChange || (() => {});
      this.makeAudio = makeAudio || ((url) => new global.Audio(url));
      this.state = {
        enabled: true, message: "", blocked: false,
        queue: [], playing: null, played: [], failed: [], skipped: [],
        playingNow: 0, playingMax: 0,
      };
      this._wavs = new Map(); // seq -> Promise<url | null>, fetched as soon as a call is queued
      this._running = false;
      this._unblock = null;
    }

    setEnabled(enabled, message) {
      this.state.enabled = enabled;
      this.state.message = message || "";
      this.onChange(this.state);
    }

    push(call) {
      const item = summary(call, { queued_at: Date.now() });
      if (!this.state.enabled) {
        keep(this.state.skipped, summary(item, { reason: "voice off" }));
        this.onChange(this.state);
        return;
      }
      this.state.queue.push(item);
      this._wavs.set(item.seq, Promise.resolve().then(() => this.fetchWav(item)).catch((err) => {
        item.error = String(err && err.message || err);
        return null;
      }));
      this.onChange(this.state);
      this._run();
    }

    skip(call, reason) {
      keep(this.state.skipped, summary(call, { reason }));
      this.onChange(this.state);
    }

    /* A tap on the page lets the browser play sound (autoplay policy). */
    unblock() {
      this.state.blocked = false;
      if (this._unblock) this._unblock();
      this.onChange(this.state);
    }

    async _run() {
      if (this._running) return;
      this._running = true;
      try {
        while (this.state.queue.length) {
          const item = this.state.queue[0];
          const url = await this._wavs.get(item.seq);
          this.state.playing = summary(item);
          this.onChange(this.state);
          let error = item.error || (url ? null : "no audio");
          if (!error) {
            try {
              await this._playUnblocked(url);
            } catch (err) {
              error = String(err && err.message || err);
            }
          }
          this.state.queue.shift();
          this._wavs.delete(item.seq);
          if (url && url.startsWith("blob:")) global.URL.revokeObjectURL(url);
          this.state.playing = null;
          keep(error ? this.state.failed : this.state.played, summary(item, error ? { error } : { ended_at: Date.now() }));
          this.onChange(this.state);
        }
      } finally {
        this._running = false;
      }
    }

    async _playUnblocked(url) {
      for (;;) {
        try {
          return await this._play(url);
        } catch (err) {
          if (!err || err.name !== "NotAllowedError") throw err;
          // Autoplay refused: keep the queue and wait for someone to tap the screen.
          this.state.blocked = true;
          this.onChange(this.state);
          await new Promise((resolve) => { this._unblock = resolve; });
          this._unblock = null;
        }
      }
    }

    _play(url) {
      const audio = this.makeAudio(url);
      return new Promise((resolve, reject) => {
        let timer = null;
        let settled = false;
        const finish = (err) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          this.state.playingNow -= 1;
          audio.onended = audio.onerror = audio.onloadedmetadata = null;
          if (err) reject(err); else resolve();
        };
        const guard = (seconds) => {
          clearTimeout(timer);
          timer = setTimeout(() => { audio.pause(); finish(); }, seconds * 1000);
        };
        this.state.playingNow += 1;
        this.state.playingMax = Math.max(this.state.playingMax, this.state.playingNow);
        audio.onended = () => finish();
        audio.onerror = () => finish(new Error("audio could not be played"));
        audio.onloadedmetadata = () => { if (isFinite(audio.duration)) guard(audio.duration + SAFETY_S); };
        guard(60);
        const started = audio.play();
        if (started && started.catch) started.catch((err) => finish(err));
      });
    }
  }

  global.AnnouncementQueue = AnnouncementQueue;
})(window);
