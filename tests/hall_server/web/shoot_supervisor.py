"""Take the docs' screenshots of the supervisor's pages (docs/screenshots/dashboard-*.png).

    .venv/bin/python -m tests.hall_server.web.shoot_supervisor

A live small test hall with a busy afternoon: windows in every state, a queue, a device
fault and a 差评, and 30 days of generated history for the reports page.
"""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import sync_playwright

from hall_server.db import Database
from tests.hall_server.history import generate_history
from tests.live import CHROMIUM_ARGS, PASSWORD, start_live_hall

OUT = Path(__file__).resolve().parents[3] / "docs" / "screenshots"


def busy(hall) -> None:
    api = hall.api
    for n, login in ((1, "root"), (2, "staff2"), (3, "staff1")):  # one window per person
        api(login, "POST", f"/windows/{n}/open")
    api("boss", "POST", "/windows/4/open")
    api("boss", "POST", "/windows/4/pause", {"reason": "午休"})
    for _ in range(9):
        api("kiosk-1", "POST", "/tickets", {"service": "b"})
    api("kiosk-1", "POST", "/tickets", {"service": "c"})
    first = api("staff1", "POST", "/windows/3/call-next").json()["ticket"]
    api("staff1", "POST", "/windows/3/finish")
    api(
        "boss",
        "POST",
        f"/tickets/{first['id']}/evaluation",
        {"score": 2, "reasons": ["等候时间长"]},
    )
    api("staff1", "POST", "/windows/3/call-next")
    api("staff1", "POST", "/windows/3/start")
    api("staff2", "POST", "/windows/2/call-next")
    api(
        "kiosk-1",
        "POST",
        "/devices/status",
        {"part": "printer", "status": {"health": "warning", "online": True, "message": "纸将尽"}},
    )


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        hall = start_live_hall(Path(tmp))
        try:
            db = Database(
                hall.env.get("HALL_DATABASE_URL") or f"sqlite:///{Path(tmp) / 'var' / 'hall.db'}"
            )
            generate_history(
                db,
                1,
                last_day=date.today() - timedelta(days=1),
                days=30,
                tickets_per_day=400,
                staff_count=6,
            )
            db.dispose()
            busy(hall)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                page = browser.new_context(
                    locale="zh-CN", viewport={"width": 1920, "height": 1080}
                ).new_page()
                for path, login, name in (
                    ("/dashboard", "boss", "dashboard-live"),
                    ("/reports", "boss", "dashboard-reports"),
                    ("/admin", "root", "dashboard-admin"),
                ):
                    page.goto(hall.url(path))
                    if page.locator("#login").is_visible():
                        page.fill("#login input[name=login]", login)
                        page.fill("#login input[name=password]", PASSWORD)
                        page.click("#login button[type=submit]")
                    page.wait_for_timeout(2500)  # charts animate in; a picture, not a test
                    if path == "/reports":
                        page.select_option("#query select[name=period]", "day")
                        page.fill(
                            "#query input[name=start]",
                            (date.today() - timedelta(days=13)).isoformat(),
                        )
                        page.select_option("#query select[name=group]", "hall")
                        page.click("#query button[type=submit]")
                        page.wait_for_timeout(2000)
                    page.screenshot(path=str(OUT / f"{name}.png"))
                browser.close()
        finally:
            hall.stop()


if __name__ == "__main__":
    main()
