/*
 * The demo desk (/demo, hall demo only) keeps itself up to date: every few seconds it reads
 * the page again and swaps in the outbox, each printer's state and the device alarms, so a
 * newcomer who pressed 缺纸 sees the printer report it and the alarm come and go without
 * reloading. The buttons stay plain forms; focus and scrolling are left alone.
 */
(function (global) {
  "use strict";

  const EVERY_MS = 3000;
  const doc = global.document;

  function swap(fresh) {
    for (const id of ["outbox", "alarms"]) {
      const now = doc.getElementById(id);
      const next = fresh.getElementById(id);
      if (now && next && now.innerHTML !== next.innerHTML) now.innerHTML = next.innerHTML;
    }
    for (const kiosk of doc.querySelectorAll(".kiosk[data-kiosk]")) {
      const next = fresh.querySelector(`.kiosk[data-kiosk="${CSS.escape(kiosk.dataset.kiosk)}"]`);
      if (!next) continue;
      const state = kiosk.querySelector(".state");
      const nextState = next.querySelector(".state");
      if (state && nextState && state.outerHTML !== nextState.outerHTML) state.replaceWith(nextState);
      for (const button of kiosk.querySelectorAll("button[value]")) {
        const pressed = next.querySelector(`button[value="${CSS.escape(button.value)}"]`);
        if (!pressed) continue;
        if (pressed.hasAttribute("aria-pressed")) button.setAttribute("aria-pressed", "true");
        else button.removeAttribute("aria-pressed");
      }
    }
  }

  async function refresh() {
    if (doc.visibilityState === "visible") {
      try {
        const response = await global.fetch("/demo", { credentials: "omit", cache: "no-store" });
        if (response.ok) swap(new global.DOMParser().parseFromString(await response.text(), "text/html"));
      } catch (_error) {
        // the demo is restarting: the next round tries again
      }
    }
    global.setTimeout(refresh, EVERY_MS);
  }

  global.setTimeout(refresh, EVERY_MS);
})(window);
