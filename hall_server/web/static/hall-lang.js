/*
 * The English sub-labels of every page (<span class="en">) are English: mark them lang="en"
 * (WCAG 3.1.2, language of parts), those in the templates and those the page's scripts add
 * later, so that a screen reader reads them with an English voice, not a Chinese one.
 * Loaded by every page (templates/base.html). An element that says its own lang is left alone.
 */
(function () {
  "use strict";

  const SELECTOR = ".en:not([lang])";

  function mark(root) {
    if (root.matches && root.matches(SELECTOR)) root.setAttribute("lang", "en");
    for (const el of root.querySelectorAll(SELECTOR)) el.setAttribute("lang", "en");
  }

  mark(document);
  new MutationObserver((records) => {
    for (const record of records) {
      for (const node of record.addedNodes) if (node.nodeType === Node.ELEMENT_NODE) mark(node);
    }
  }).observe(document.body, { childList: true, subtree: true });
})();
