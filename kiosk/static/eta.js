/*
 * The wait a visitor is told (预计等候), in words: one rule for the kiosk, the phone page and
 * the TV (the printed ticket says it the same way: devices/printer/content.py, wait_words).
 * The rule is written down in docs/KIOSK.md, "The wait in words".
 *
 *   under an hour        约5–9分钟 · 5–9 min          (the 80 % range; or 约12分钟 · about 12 min)
 *   a range from 0       54分钟以内 · within 54 min   (its top; 1小时10分钟以内 past an hour)
 *   an hour to 3 hours   约1小时10分–1小时40分 · 1 h 10 min–1 h 40 min, in 10-minute steps
 *   3 hours and more     约8小时30分钟 · about 8 h 30 min, the median alone, in half hours
 *   over 12 hours        12小时以上 · over 12 h
 *   an hour or more that ends after today's last ticket period
 *                        超出今日办理时间 · past closing
 * Whether a wait ends past closing is the hall's to say (eta_past_closing in every answer
 * that carries an ETA: the service's own hours that weekday, on the hall's clock), not the
 * screen's, whose clock and idea of today's hours may be wrong.
 */
(function (global) {
  "use strict";

  const PRECISE_MAX_MIN = 12 * 60; // longer than this: no figure ("12小时以上")
  const RANGE_MAX_MIN = 3 * 60; // a range whose top reaches this: the median alone
  const CLOSING_FROM_MIN = 60; // shorter waits are told in minutes even past closing

  /* Minutes to the step a visitor can use: 1 min under an hour, 10 min to 3 h, then 30 min. */
  function rounded(m) {
    const step = m < 60 ? 1 : m < 180 ? 10 : 30;
    return Math.round(m / step) * step;
  }

  /* One duration: 45分钟, 2小时, 1小时20分 (in a range) or 1小时20分钟 (alone); 1 h 20 min. */
  function zh(m, alone) {
    if (m < 60) return `${m}分钟`;
    const h = Math.floor(m / 60);
    const r = m % 60;
    return r ? `${h}小时${r}${alone ? "分钟" : "分"}` : `${h}小时`;
  }
  function en(m) {
    if (m < 60) return `${m} min`;
    const h = Math.floor(m / 60);
    const r = m % 60;
    return r ? `${h} h ${r} min` : `${h} h`;
  }

  /*
   * The wait in words. etaS: the median in seconds (null: no estimate); rangeS: [low, high]
   * in seconds or null; pastClosing: the hall's eta_past_closing (the median wait ends after
   * the service's last ticket period today).
   * Returns {kind, zh, en}: kind is "none" (zh and en null: the page says why), "range",
   * "about", "over" (12小时以上) or "closing" (超出今日办理时间).
   */
  function words(etaS, rangeS, pastClosing) {
    if (etaS == null) return { kind: "none", zh: null, en: null };
    const m = Math.max(1, Math.round(etaS / 60));
    if (m >= CLOSING_FROM_MIN && pastClosing === true) {
      return { kind: "closing", zh: "超出今日办理时间", en: "past closing" };
    }
    if (m > PRECISE_MAX_MIN) return { kind: "over", zh: "12小时以上", en: "over 12 h" };
    if (Array.isArray(rangeS) && rangeS.length === 2) {
      const lo = rounded(Math.max(0, Math.round(rangeS[0] / 60)));
      const hi = rounded(Math.max(1, Math.round(rangeS[1] / 60)));
      if (hi > lo && hi < RANGE_MAX_MIN) {
        // "0–54分钟" reads as a misprint: a range from nothing is said as its top
        if (lo === 0) return { kind: "range", zh: `${zh(hi, true)}以内`, en: `within ${en(hi)}` };
        if (hi < 60) return { kind: "range", zh: `约${lo}–${hi}分钟`, en: `${lo}–${hi} min` };
        if (lo >= 60 && lo % 60 === 0 && hi % 60 === 0) {
          return { kind: "range", zh: `约${lo / 60}–${hi / 60}小时`, en: `${lo / 60}–${hi / 60} h` };
        }
        return { kind: "range", zh: `约${zh(lo, false)}–${zh(hi, false)}`, en: `${en(lo)}–${en(hi)}` };
      }
    }
    const r = rounded(m);
    return { kind: "about", zh: `约${zh(r, true)}`, en: `about ${en(r)}` };
  }

  global.hallEta = { words };
})(window);
