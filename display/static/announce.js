/*
 * AnnouncementQueue — reads the calls of this TV's windows out, planned for a rush.
 *
 *   const voice = new AnnouncementQueue({fetchWav, fetchChime, staleReason, now, onChange});
 *   voice.configure({mode: "plan", chime: true, repeat: 2, repeatGapMs: 700, staleS: 90, withinS: 40});
 *   voice.push({seq, number, window, kind: "call" | "recall", ticket_id, at});
 *
 * One announcement plays at a time (a room hears one voice). The plan (docs/DISPLAY.md,
 * "Announcements in a rush"), decided again each time the speaker is free:
 *
 * - batch: a run of calls read without the speaker falling idle. One chime opens it
 *   (`/display/voice/chime`); the calls after it are read without a chime.
 * - each call is read once (`form=once`); when nothing waits behind it, the reading is
 *   repeated `repeat` times after `repeatGapMs` (a quiet hall hears chime + sentence twice,
 *   as before). A call that comes during the repetition stops it.
 * - when reading the backlog once each would voice some waiting call later than `withinS`
 *   after its call, the call is read in brief (`form=brief`: "A零一二 到 三号窗口").
 * - a recall is read next (ahead of waiting calls; a waiting call of the same ticket is
 *   dropped: the recall reads it).
 * - when its turn comes, a call older than `staleS`, or no longer current at its window
 *   (finished, the window called again: `staleReason(call)` from the page) is not read;
 *   it goes to `skipped` with the reason. The screen shows it regardless.
 * - the same event (seq) is never queued twice; order is the call order otherwise, so the
 *   calls of one window are read in their order.
 *
 * mode "sequential" keeps the old behaviour (each call's full WAV, strictly one after
 * another), for comparison in benchmarks/announce_rush.py.
 *
 * `voice.state` is plain data (tests read it as window.hallAudio): queue (waiting calls),
 * playing, played (in order, with form, readings, called_at / started_at / voiced_at (the
 * first reading ended) / ended_at in the hall's ms),
 * failed, skipped (with reason), parts (every WAV played: chime, once, brief, repeat,
 * full), chimes, batches, blocked (autoplay refused until a tap), playingMax (must stay 1).
 */
(function (global) {
  "use strict";

  const MAX_KEPT = 200; // played/failed/skipped/parts entries kept for the page's state
  const SAFETY_S = 5; // an announcement not ended this long after its duration is given up
  const GUESS_S = 5.5; // a once-reading's length before any WAV is known (espeak bank: 5.2-6.6 s)
  const SEEN = 1000; // seqs remembered so an event delivered again is not read again

  function summary(item, extra) {
    return Object.assign({ seq: item.seq, number: item.number, window: item.window, kind: item.kind }, extra || {});
  }

  function keep(list, entry) {
    list.push(entry);
    if (list.length > MAX_KEPT) list.splice(0, list.length - MAX_KEPT);
  }

  /* Seconds of audio in a PCM WAV blob (its header's byte rate), or null. */
  async function wavSeconds(blob) {
    try {
      const head = new DataView(await blob.slice(0, 44).arrayBuffer());
      const byteRate = head.getUint32(28, true);
      return byteRate > 0 ? (blob.size - 44) / byteRate : null;
    } catch (_err) {
      return null;
    }
  }

  class AnnouncementQueue {
    constructor({ fetchWav, fetchChime, staleReason, now, onChange, makeAudio } = {}) {
      this.fetchWav = fetchWav; // (call, form) -> Blob or URL
      this.fetchChime = fetchChime || null; // () -> Blob or URL
      this.staleReason = staleReason || (() => null); // (call) -> reason it is no longer worth reading, or null
      this.now = now || (() => Date.now()); // the hall's clock (server time), ms
      this.onChange = onChange || (() => {});
      this.makeAudio = makeAudio || ((url) => new global.Audio(url));
      this.settings = { mode: "plan", chime: true, repeat: 2, repeatGapMs: 700, staleS: 90, withinS: 40 };
      this.state = {
        enabled: true, message: "", blocked: false, mode: "plan",
        queue: [], playing: null, played: [], failed: [], skipped: [], parts: [],
        chimes: 0, batches: 0, playingNow: 0, playingMax: 0,
      };
      this._wavs = new Map(); // "seq:form" -> Promise<{url, seconds} | null>
      this._chime = null; // Promise<{url, seconds} | null>, fetched once
      this._seen = new Set();
      this._running = false;
      this._unblock = null;
      this._wake = null; // resolves the repetition pause early when a call comes
    }

    configure(settings) {
      Object.assign(this.settings, settings || {});
      this.state.mode = this.settings.mode;
      this.onChange(this.state);
    }

    setEnabled(enabled, message) {
      this.state.enabled = enabled;
      this.state.message = message || "";
      this.onChange(this.state);
    }

    push(call) {
      if (this._seen.has(call.seq)) return; // delivered again (a resync): read once only
      this._seen.add(call.seq);
      if (this._seen.size > SEEN) this._seen.delete(this._seen.values().next().value);
      const item = summary(call, { ticket_id: call.ticket_id, called_at: call.at != null ? call.at : this.now(), queued_at: this.now() });
      if (!this.state.enabled) return this.skip(item, "voice off");
      const queue = this.state.queue;
      if (this.settings.mode === "sequential") {
        // The old way: calls that were old on arrival (the screen was off) are not read.
        if ((this.now() - item.called_at) / 1000 > this.settings.staleS) return this.skip(item, "stale");
        queue.push(item);
        this._fetch(item, "full");
      } else {
        if (item.kind === "recall") {
          // The recall reads this ticket now: a waiting call of it would say the same again.
          for (let i = queue.length - 1; i >= 0; i -= 1) {
            const other = queue[i];
            if (other.window === item.window && other.number === item.number) {
              queue.splice(i, 1);
              this._forget(other);
              keep(this.state.skipped, summary(other, { reason: "recalled", at: this.now() }));
            }
          }
          let at = 0; // after the recalls already waiting at the head: recalls in their order
          while (at < queue.length && queue[at].kind === "recall") at += 1;
          queue.splice(at, 0, item);
        } else {
          queue.push(item);
        }
        this._fetch(item, "once");
      }
      if (this._wake) this._wake();
      this.onChange(this.state);
      this._run();
    }

    skip(call, reason) {
      keep(this.state.skipped, summary(call, { reason, at: this.now() }));
      this.onChange(this.state);
    }

    /* A tap on the page lets the browser play sound (autoplay policy). */
    unblock() {
      this.state.blocked = false;
      if (this._unblock) this._unblock();
      this.onChange(this.state);
    }

    _fetch(item, form) {
      const key = `${item.seq}:${form}`;
      if (!this._wavs.has(key)) this._wavs.set(key, this._load(() => this.fetchWav(item, form)));
      return this._wavs.get(key);
    }

    _load(get) {
      return Promise.resolve().then(get).then(async (got) => {
        if (typeof got === "string") return { url: got, seconds: null };
        return { url: global.URL.createObjectURL(got), seconds: await wavSeconds(got) };
      }).catch((err) => ({ url: null, error: String(err && err.message || err) }));
    }

    _forget(item) {
      for (const form of ["once", "brief", "full"]) {
        const key = `${item.seq}:${form}`;
        const wav = this._wavs.get(key);
        if (!wav) continue;
        this._wavs.delete(key);
        wav.then((got) => { if (got && got.url && got.url.startsWith("blob:")) global.URL.revokeObjectURL(got.url); });
      }
    }

    /* Why a waiting call is no longer read when its turn comes, or null. */
    _whyNot(item) {
      if ((this.now() - item.called_at) / 1000 > this.settings.staleS) return "stale";
      return this.staleReason(item) || null;
    }

    /* Whether reading this call and those behind it once each voices one later than withinS. */
    async _late(item) {
      let total = this.now();
      for (const each of [item, ...this.state.queue]) {
        const wav = await this._fetch(each, "once");
        const seconds = (wav && wav.seconds) || GUESS_S;
        total += seconds * 1000 + 300;
        if (total > each.called_at + this.settings.withinS * 1000) return true;
      }
      return false;
    }

    async _run() {
      if (this._running) return;
      this._running = true;
      try {
        if (this.settings.mode === "sequential") await this._runSequential();
        else await this._runPlanned();
      } finally {
        this._running = false;
      }
    }

    async _runPlanned() {
      const queue = this.state.queue;
      let open = false; // a batch is open: its chime was played
      while (queue.length) {
        const item = queue[0];
        const reason = this._whyNot(item);
        if (reason) {
          queue.shift();
          this._forget(item);
          this.skip(item, reason);
          continue;
        }
        if (!open) {
          open = true;
          this.state.batches += 1;
          if (this.settings.chime && this.fetchChime) {
            if (!this._chime) this._chime = this._load(() => this.fetchChime());
            const chime = await this._chime;
            if (chime && chime.url) {
              this.state.chimes += 1;
              await this._part("chime", null, chime.url);
            } else {
              this._chime = null; // try again at the next batch
            }
            continue; // a recall may have come during the chime: it goes first
          }
        }
        queue.shift();
        const late = queue.length > 0 && await this._late(item);
        const form = late ? "brief" : "once";
        this.state.playing = summary(item, { form });
        this.onChange(this.state);
        const wav = await this._fetch(item, form);
        let error = wav && wav.url ? null : (wav && wav.error) || "no audio";
        let started = null;
        let voiced = null; // the first reading ended: the call has been said
        let readings = 0;
        if (!error) {
          const first = await this._part(form, item, wav.url);
          error = first.error;
          started = first.started_at;
          voiced = first.ended_at;
          readings = error ? 0 : 1;
          // A quiet hall: the sentence again, as long as no other call has come.
          for (let r = 1; !error && r < this.settings.repeat && !queue.length; r += 1) {
            await this._pause(this.settings.repeatGapMs);
            if (queue.length) break;
            const again = await this._part("repeat", item, wav.url);
            if (again.error) break;
            readings += 1;
          }
        }
        this._forget(item);
        this.state.playing = null;
        if (error) keep(this.state.failed, summary(item, { error, form }));
        else {
          keep(this.state.played, summary(item, {
            form, readings, called_at: item.called_at, queued_at: item.queued_at, started_at: started, voiced_at: voiced, ended_at: this.now(), batch: this.state.batches,
          }));
        }
        this.onChange(this.state);
        if (!queue.length) open = false;
      }
    }

    async _runSequential() {
      const queue = this.state.queue;
      while (queue.length) {
        const item = queue[0];
        const wav = await this._fetch(item, "full");
        this.state.playing = summary(item, { form: "full" });
        this.onChange(this.state);
        let error = wav && wav.url ? null : (wav && wav.error) || "no audio";
        let started = null;
        if (!error) {
          const done = await this._part("full", item, wav.url);
          error = done.error;
          started = done.started_at;
        }
        queue.shift();
        this._forget(item);
        this.state.playing = null;
        if (error) keep(this.state.failed, summary(item, { error, form: "full" }));
        else keep(this.state.played, summary(item, { form: "full", readings: this.settings.repeat, called_at: item.called_at, started_at: started, ended_at: this.now() }));
        this.onChange(this.state);
      }
    }

    /* Play one WAV to its end; log it in parts. */
    async _part(what, item, url) {
      const entry = { what, seq: item ? item.seq : null, started_at: null, ended_at: null };
      keep(this.state.parts, entry);
      try {
        await this._playUnblocked(url, () => { entry.started_at = this.now(); });
      } catch (err) {
        entry.error = String(err && err.message || err);
      }
      entry.ended_at = this.now();
      this.onChange(this.state);
      return entry;
    }

    _pause(ms) {
      return new Promise((resolve) => {
        const timer = setTimeout(() => { this._wake = null; resolve(); }, ms);
        this._wake = () => { clearTimeout(timer); this._wake = null; resolve(); };
      });
    }

    async _playUnblocked(url, onStart) {
      for (;;) {
        try {
          return await this._play(url, onStart);
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

    _play(url, onStart) {
      const audio = this.makeAudio(url);
      return new Promise((resolve, reject) => {
        let timer = null;
        let settled = false;
        const finish = (err) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          this.state.playingNow -= 1;
          audio.onended = audio.onerror = audio.onloadedmetadata = audio.onplaying = null;
          if (err) reject(err); else resolve();
        };
        const guard = (seconds) => {
          clearTimeout(timer);
          timer = setTimeout(() => { audio.pause(); finish(); }, seconds * 1000);
        };
        this.state.playingNow += 1;
        this.state.playingMax = Math.max(this.state.playingMax, this.state.playingNow);
        audio.onplaying = () => { if (onStart) onStart(); onStart = null; };
        audio.onended = () => finish();
        audio.onerror = () => finish(new Error("audio could not be played"));
        audio.onloadedmetadata = () => { if (isFinite(audio.duration)) guard(audio.duration + SAFETY_S); };
        guard(60);
        const started = audio.play();
        if (started && started.then) started.then(() => { if (onStart) onStart(); onStart = null; }, (err) => finish(err));
      });
    }
  }

  global.AnnouncementQueue = AnnouncementQueue;
})(window);
