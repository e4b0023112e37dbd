"""The window client's pages: the staff window page and the visitor's evaluator page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request

HERE = Path(__file__).resolve().parent
# The reasons a visitor may give for a 差评 (the two lowest scores); shown as big chips.
BAD_REASONS = (
    ("等候时间长", "Long wait"),
    ("服务态度不好", "Unfriendly service"),
    ("业务不熟练", "Staff unsure of the rules"),
    ("办事效率低", "Slow handling"),
    ("未一次性告知", "Not told everything at once"),
    ("材料要求多", "Too many documents asked"),
    ("环境设施差", "Poor facilities"),
    ("其他", "Other"),
)
SCORES = (
    (5, "非常满意", "Very satisfied"),
    (4, "满意", "Satisfied"),
    (3, "基本满意", "Acceptable"),
    (2, "不满意", "Dissatisfied"),
    (1, "非常不满意", "Very dissatisfied"),
)
EVALUATION_TIMEOUT_S = 60  # then the page thanks the visitor and goes back to idle
THANKS_S = 6

window_pages = Blueprint(
    "window_pages",
    __name__,
    static_folder=str(HERE / "static"),
    static_url_path="/window-client/static",
    template_folder=str(HERE / "templates"),
)


def _hall() -> Any:
    return current_app.extensions["hall"]


@window_pages.get("/window")
def window_page() -> Any:
    layout = _hall().ctx.current_layout()
    return render_template("window_client/window.html", hall=layout)


def _seconds(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name, "")
    whole = raw.isascii() and raw.isdigit()  # "²" is a digit to isdigit(), not to int()
    return max(low, min(int(raw), high)) if whole else default


@window_pages.get("/evaluate/<device>")
def evaluate_page(device: str) -> Any:
    from hall_server.services.devices import find_device

    state = _hall()
    found = find_device(state.ctx, device)
    if found is None or found.kind != "evaluator":
        abort(404, description=f"没有评价器 {device} (no evaluator named {device}).")
    windows, options = list(found.windows), found.options
    timeout_s = int(options.get("timeout_s", EVALUATION_TIMEOUT_S))
    return render_template(
        "window_client/evaluate.html",
        hall=state.ctx.current_layout(),
        device=device,
        windows=windows,
        scores=SCORES,
        reasons=BAD_REASONS,
        timeout_s=_seconds("timeout_s", timeout_s, 3, 600),
        thanks_s=_seconds("thanks_s", THANKS_S, 1, 60),
    )
