"""Every page, static file and API answer carries the browser defences (CSP and friends)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.hall_server.hall import HallRig

ROOT = Path(__file__).resolve().parents[3]
PAGES = ["/", "/window", "/dashboard", "/reports", "/admin", "/kiosk/kiosk-1", "/display/tv-1",
         "/evaluate/eval-3"]  # fmt: skip
TEMPLATES = sorted(
    p
    for folder in ("hall_server/web", "kiosk", "display", "window_client")
    for p in (ROOT / folder).glob("**/templates/**/*.html")
)


def directives(policy: str) -> dict[str, str]:
    parts = (part.strip().split(None, 1) for part in policy.split(";") if part.strip())
    return {name: rest for name, rest in ((p[0], p[1] if len(p) > 1 else "") for p in parts)}


@pytest.mark.parametrize(
    "path", [*PAGES, "/t/a-ticket-token", "/static/hall.css", "/api/v1/health"]
)
def test_every_answer_carries_the_browser_defences(hall: HallRig, path: str) -> None:
    response = hall.client.get(path)
    response.close()  # a static file answers with an open file
    assert response.status_code == 200, path
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval'
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert policy["base-uri"] == "'none'"
    assert policy["form-action"] == "'self'"
    assert policy["connect-src"].split() == ["'self'", "ws://localhost", "wss://localhost"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_the_pages_above_are_every_page_the_app_serves(hall: HallRig) -> None:
    """A new page route must join PAGES (and so be checked for its headers)."""
    served = {
        rule.rule
        for rule in hall.app.url_map.iter_rules()
        if "GET" in (rule.methods or ())
        and not rule.rule.startswith("/api/")
        and not rule.endpoint.endswith("static")
    }
    checked = {"/", "/window", "/dashboard", "/reports", "/admin", "/kiosk/<device>",
               "/display/<device>", "/evaluate/<device>", "/t/<token>",
               "/t/<token>/qr.svg", "/t/<token>/voice.wav", "/kiosk/voice/service/<code>.wav",
               "/kiosk/voice/say/<phrase>.wav"}  # fmt: skip
    assert served == checked


def test_a_ticket_qr_code_carries_the_defences_too(hall: HallRig) -> None:
    token = hall.issue("a")["token"]
    response = hall.client.get(f"/t/{token}/qr.svg")
    assert response.status_code == 200
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_strange_host_header_cannot_widen_the_policy(hall: HallRig) -> None:
    response = hall.client.get("/", headers={"Host": "evil.example; script-src *"})
    policy = response.headers["Content-Security-Policy"]
    assert "evil" not in policy and directives(policy)["connect-src"] == "'self'"


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_no_template_carries_inline_script_style_or_handlers(template: Path) -> None:
    text = template.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", text), "inline <script>"
    assert "<style" not in text
    assert not re.search(r"\sstyle\s*=", text), "inline style attribute"
    assert not re.search(r"\son[a-z]+\s*=", text), "inline event handler"


def test_every_page_extends_the_one_base_template() -> None:
    pages = [t for t in TEMPLATES if not t.name.startswith("_") and t.name != "base.html"]
    assert len(pages) == 10  # nine pages of the hall and the demo desk
    for page in pages:
        assert page.read_text().startswith('{% extends "base.html" %}'), page


def test_the_landing_page_names_no_device_to_anyone(hall: HallRig) -> None:
    html = hall.client.get("/").get_data(as_text=True)
    for name in ("kiosk-1", "kiosk-2", "tv-1", "eval-3", "keypad-2"):
        assert name not in html
    assert 'href="/window"' in html and 'href="/admin"' in html
