"""Drive the window page and the evaluator page like a person would."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.live import PASSWORD, LiveHall
from tests.support.polling import until as until  # the pages' tests poll with it

WAIT_MS = 10_000


def log_in(page: Any, hall: LiveHall, login: str, window: int) -> None:
    """Log in on /window and take window ``window`` (opening it when closed)."""
    page.goto(hall.url("/window"))
    page.fill("#login input[name=login]", login)
    page.fill("#login input[name=password]", PASSWORD)
    page.click("#login-button")
    page.click(f'.window-choice[data-window="{window}"]', timeout=WAIT_MS)
    expect(page.locator("#window-title")).to_have_text(f"{window}号窗口", timeout=WAIT_MS)
    expect(page.locator("#window-state")).to_have_text("服务中", timeout=WAIT_MS)


def button(page: Any, action: str) -> Any:
    return page.locator(f'#buttons [data-action="{action}"]')


def expect_allowed(page: Any, action: str, allowed: bool = True) -> None:
    expect(button(page, action)).to_have_attribute(
        "aria-disabled", "false" if allowed else "true", timeout=WAIT_MS
    )


def press(page: Any, action: str) -> None:
    """Click a desk button once it is legal."""
    expect_allowed(page, action)
    button(page, action).click()


def expect_ticket(page: Any, number: str, status: str | None = None) -> None:
    expect(page.locator("#ticket-number")).to_have_text(number, timeout=WAIT_MS)
    if status is not None:
        expect(page.locator("#ticket-status")).to_have_text(status, timeout=WAIT_MS)


def events(hall: LiveHall, after: int = 0) -> list[dict[str, Any]]:
    response = hall.api("boss", "GET", f"/events?after={after}")
    response.raise_for_status()
    found: list[dict[str, Any]] = response.json()["events"]
    return found


def issue(hall: LiveHall, service: str = "b") -> dict[str, Any]:
    response = hall.api("kiosk-1", "POST", "/tickets", {"service": service})
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()
    return ticket


def ticket(hall: LiveHall, ticket_id: int) -> dict[str, Any]:
    response = hall.api("boss", "GET", f"/tickets/{ticket_id}")
    response.raise_for_status()
    found: dict[str, Any] = response.json()
    return found


def alarms(hall: LiveHall) -> list[dict[str, Any]]:
    response = hall.api("boss", "GET", "/alarms")
    response.raise_for_status()
    found: list[dict[str, Any]] = response.json()["alarms"]
    return found
