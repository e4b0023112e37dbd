"""Accessibility checks in a real browser page: axe-core (from npm) and touch-target sizes.

    problems = axe_violations(page)            # [] when axe finds nothing serious or critical
    assert not problems, "\\n".join(problems)
    small = small_touch_targets(page, 48)      # every visible control at least 48×48 px
    assert not small, "\\n".join(small)

axe-core is installed by ``.ci/build-frontend`` (``npm ci`` in hall_server/web/frontend) and
read from its node_modules: it is a test tool, so it is never copied to /static/vendor/ and
never shipped in the wheel. It is put into the page through the browser's debugging protocol
(``page.evaluate``), which the pages' strict Content-Security-Policy does not apply to, so the
server does not have to serve it and the policy stays as strict as in production.

Contrast: axe's ``color-contrast`` rule asks 4.5:1 of normal text and only 3:1 of large text
(WCAG 1.4.3). The hall asks 4.5:1 of every text (issue 14, 工信部适老化), so by default the
large-text threshold is raised to 4.5:1 too (``large_text_ratio``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.needs import missing

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = ROOT / "hall_server" / "web" / "frontend" / "node_modules" / "axe-core" / "axe.min.js"

_RUN = """async ([largeRatio, context]) => {
  axe.configure({checks: [{id: "color-contrast", options: {contrastRatio: {
    normal: {expected: 4.5}, large: {expected: largeRatio}}}}]});
  const results = await axe.run(context || document, {resultTypes: ["violations"]});
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({target: n.target.map(String).join(" "), impact: n.impact,
                                summary: n.failureSummary || ""})),
  }));
}"""


def axe_source() -> str:
    """The text of axe.min.js; skips (fails in CI) when the npm libraries are not built."""
    if not AXE_JS.is_file():
        missing(f"axe-core is not installed ({AXE_JS}): run .ci/build-frontend")
    return AXE_JS.read_text(encoding="utf-8")


def inject_axe(page: Any) -> None:
    """Put axe-core into ``page`` (again after every navigation); a no-op when it is there."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())


def axe_results(page: Any, *, large_text_ratio: float = 4.5,
                context: str | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """axe's violations on the page as it is now (all impacts), optionally within ``context``."""
    inject_axe(page)
    found: list[dict[str, Any]] = page.evaluate(_RUN, [large_text_ratio, context])
    return found


def axe_violations(
    page: Any,
    *,
    impacts: tuple[str, ...] = ("serious", "critical"),
    large_text_ratio: float = 4.5,
    context: str | None = None,
) -> list[str]:
    """Readable lines, one per failing element, of the violations with one of ``impacts``.

    Each line: ``rule-id [impact] css-target: what to fix`` (axe's own failure summary).
    """
    lines: list[str] = []
    for rule in axe_results(page, large_text_ratio=large_text_ratio, context=context):
        for node in rule["nodes"]:
            impact = node["impact"] or rule["impact"]
            if impact in impacts:
                summary = " ".join(node["summary"].split())
                where = f"{rule['id']} [{impact}] {node['target']}"
                lines.append(f"{where}: {rule['help']} — {summary}")
    return lines


# Controls a finger must hit. Exceptions (WCAG 2.5.8, written here once):
# - a link inside running text (a sentence in p/li/td with other words) is not a target;
# - a control that is not visible (no box, display:none, visibility:hidden, off-screen) is skipped;
# - a small checkbox/radio counts with its <label> when the label (which also toggles it)
#   is large enough; a control whose whole box sits inside a large enough <label> likewise.
_TARGETS = """(minPx) => {
  const selector = 'button, a[href], input:not([type=hidden]), select, textarea, summary,'
    + ' [role=button], [role=link], [role=tab], [role=checkbox], [role=radio], [role=switch],'
    + ' [role=menuitem], [onclick], [tabindex]:not([tabindex="-1"])';
  const big = (r) => r.width >= minPx - 0.5 && r.height >= minPx - 0.5;
  const visible = (el) => {
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") return false;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) return false;
    const height = document.documentElement.scrollHeight;
    return r.right > 0 && r.bottom > 0 && r.left < innerWidth + 1 && r.top < height;
  };
  const inlineLink = (el) => {
    if (el.tagName !== "A" || getComputedStyle(el).display !== "inline") return false;
    const block = el.closest("p, li, td, dd, figcaption, small, label, span, div");
    if (!block) return false;
    const text = block.textContent.replace(/\\s+/g, "");
    return text.length > el.textContent.replace(/\\s+/g, "").length + 4;
  };
  const labels = (el) => [...(el.labels || []), el.closest("label")].filter(Boolean);
  const name = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += "#" + el.id;
    else if (el.className && typeof el.className === "string")
      s += "." + el.className.trim().split(/\\s+/).join(".");
    const text = (el.getAttribute("aria-label") || el.textContent || el.value || "").trim();
    return s + (text ? ` "${text.replace(/\\s+/g, " ").slice(0, 30)}"` : "");
  };
  const small = [];
  for (const el of document.querySelectorAll(selector)) {
    if (!visible(el) || inlineLink(el)) continue;
    const r = el.getBoundingClientRect();
    if (big(r)) continue;
    if (labels(el).some((label) => visible(label) && big(label.getBoundingClientRect()))) continue;
    small.push(`${name(el)} is ${Math.round(r.width)}×${Math.round(r.height)} px`);
  }
  return small;
}"""


def small_touch_targets(page: Any, min_px: int = 48) -> list[str]:
    """Every visible control on ``page`` smaller than ``min_px``×``min_px`` CSS px, named."""
    found: list[str] = page.evaluate(_TARGETS, min_px)
    return found
