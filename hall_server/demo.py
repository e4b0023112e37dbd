"""``hall demo``: the demo hall from config/, every part, fake devices, printed logins and URLs.

What makes it a demo rather than a site: every service open all day; the devices' tokens kept
in var/ so a restart leaves open TV, kiosk and evaluator pages working; the turn-near messages
(叫号提醒) shown in an outbox page and on the console instead of going to an SMS gateway; and
the fake printers' paper set from that page, to walk the fault path (缺纸 → alarm → 换纸).
"""

from __future__ import annotations

import json
import os
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .app import database_url
from .settings import Settings

if TYPE_CHECKING:
    from flask import Flask

    from .db import Database
    from .services.notify import Notifier

TOKENS_FILE = "demo-device-tokens.json"  # under var/, next to hall.db; readable by its owner only
OUTBOX_SIZE = 200  # the latest messages the outbox page shows
PAPER_STATES = ("ok", "low", "out", "offline")  # what the fake printer can claim (devices/)


def open_all_day(settings: Settings) -> Settings:
    """The same hall with every service open every day, so the demo works at any hour."""
    services = tuple(
        s.model_copy(update={"hours": (("00:00", "24:00"),), "weekdays": tuple(range(1, 8)),
                             "weekday_hours": {}})
        for s in settings.hall.services
    )  # fmt: skip
    return settings.model_copy(
        update={"hall": settings.hall.model_copy(update={"services": services})}
    )


# ---------------------------------------------------------------- device tokens


def demo_device_tokens(
    settings: Settings, db: Database, hall_id: int
) -> dict[str, tuple[str, str]]:
    """Every device's token, the same as last start while it still works (a new device, or one
    an admin revoked, gets a fresh one); kept in var/ for the next start. name -> (kind, token)."""
    from .services.setup import keep_device_tokens

    path = settings.server.var_path / TOKENS_FILE
    devices = keep_device_tokens(db, hall_id, read_tokens(path))
    write_tokens(path, {name: token for name, (_, token) in devices.items()})
    return devices


def read_tokens(path: Path) -> dict[str, str]:
    """The tokens the demo kept (name -> token); nothing when the file is missing or damaged."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, str)}


def write_tokens(path: Path, tokens: dict[str, str]) -> None:
    """Keep the tokens for the next start: written whole, then renamed, owner-only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(tokens, out, indent=1, sort_keys=True)
    partial.replace(path)


# ---------------------------------------------------------------- the SMS outbox


@dataclass(frozen=True)
class SentMessage:
    """One turn-near message as the outbox shows it (the phone masked)."""

    at: datetime
    phone: str
    message: str


class DemoOutbox:
    """The demo's notifier: keeps the latest messages for the outbox page and prints a line
    per message; a configured SMS gateway (``[notify] kind = "http"``) still gets them."""

    def __init__(
        self,
        forward: Notifier | None = None,
        echo: Callable[[str], Any] | None = None,
        keep: int = OUTBOX_SIZE,
    ) -> None:
        self.forward, self.echo = forward, echo
        self._messages: deque[SentMessage] = deque(maxlen=keep)
        self._lock = threading.Lock()

    def send(self, phone: str, message: str) -> None:
        """Hand the message on (when a gateway is configured), then keep and print it."""
        from .services.personal import mask_phone

        if self.forward is not None:
            self.forward.send(phone, message)  # NotifyError: not sent, so not in the outbox
        sent = SentMessage(datetime.now(UTC), mask_phone(phone), message)
        with self._lock:
            self._messages.appendleft(sent)
        if self.echo is not None:
            self.echo(f"  短信 SMS       {sent.phone}  {message}")

    def latest(self) -> list[SentMessage]:
        """The kept messages, newest first."""
        with self._lock:
            return list(self._messages)


# ---------------------------------------------------------------- the demo page's parts


class DemoHall:
    """What the demo page (``/demo``, hall_server/web/demo.py) reads and drives."""

    def __init__(self, app: Flask, outbox: DemoOutbox, kiosks: list[str]) -> None:
        self.app, self.outbox, self.kiosks = app, outbox, kiosks

    def set_paper(self, kiosk: str, paper: str) -> None:
        """Tell the kiosk's agent to make its fake printer claim ``paper`` (ok/low/out/offline);
        the agent reports it as a real printer's sensor would, and the alarms follow."""
        from .contract import DEMO_PAPER, KIOSK_NAMESPACE
        from .extensions import socketio
        from .realtime.kiosk import kiosk_room

        if kiosk not in self.kiosks or paper not in PAPER_STATES:
            raise ValueError(f"no fake printer {kiosk!r} or paper state {paper!r}")
        hall_id = self.app.extensions["hall"].ctx.hall_id
        room = kiosk_room(hall_id, kiosk, "agent")
        socketio.emit(DEMO_PAPER, {"paper": paper}, to=room, namespace=KIOSK_NAMESPACE)


def install_demo(
    app: Flask, settings: Settings, *, echo: Callable[[str], Any] | None = click.echo
) -> DemoHall:
    """Make ``app`` the demo's: the outbox takes the turn-near messages, /demo is served."""
    from kiosk.demo_agents import fake_printer_kiosks

    from .services.notify import LogNotifier, NotifyConfig
    from .web.demo import demo_pages

    turns = app.extensions["kiosk_turns"]
    configured = turns.config.notifier
    outbox = DemoOutbox(None if isinstance(configured, LogNotifier) else configured, echo)
    turns.config = NotifyConfig(outbox, turns.config.ahead)
    demo = DemoHall(app, outbox, fake_printer_kiosks(settings))
    app.extensions["hall_demo"] = demo
    app.register_blueprint(demo_pages)
    return demo


# ---------------------------------------------------------------- hall demo


def run_demo(settings: Settings, *, host: str, port: int, real_hours: bool = False) -> None:
    """Prepare the demo database, print how to get in, and serve until interrupted."""
    from . import create_app
    from .bootstrap import start_background_jobs
    from .server import serve
    from .services.setup import create_demo_logins, init_database

    if not real_hours:
        settings = open_all_day(settings)
    url = database_url(settings)
    db, hall_id, _ = init_database(settings, url)
    logins = create_demo_logins(db, hall_id)
    devices = demo_device_tokens(settings, db, hall_id)
    db.dispose()
    app = create_app(settings=settings)
    install_demo(app, settings)
    base = f"http://{host}:{port}"
    evaluators = [
        f"  Evaluator      {base}/evaluate/{name}?token={token}"
        for name, (kind, token) in devices.items()
        if kind == "evaluator"
    ]
    displays = [
        f"  TV display     {base}/display/{name}?token={token}"
        for name, (kind, token) in devices.items()
        if kind == "display"
    ]
    lines = [
        "",
        f"  {settings.hall.name} — {settings.hall.name_en}  (demo hall, SQLite: {url})",
        "",
        f"  API            {base}/api/v1/openapi.json",
        f"  Snapshot       {base}/api/v1/snapshot  (Authorization: Bearer <token>)",
        f"  Window page    {base}/window  (窗口叫号: log in as staff01)",
        f"  Dashboard      {base}/dashboard  (大厅监控: log in as supervisor)",
        f"  Reports        {base}/reports  (效能报表)",
        f"  Admin          {base}/admin  (系统管理: log in as admin)",
        f"  Demo desk      {base}/demo  (演示台: 短信发件箱 SMS outbox, 打印机纸张 printer paper)",
        *evaluators,
        *displays,
        "",
        "  Demo logins (login / password):",
        *[f"    {login:<12} {password:<18} {role}" for login, role, password in logins],
        "",
        f"  Device tokens (kept across restarts in {settings.server.var_path / TOKENS_FILE}):",
        *[f"    {name:<16} {kind:<10} {token}" for name, (kind, token) in devices.items()],
        "",
        "  演示模式：各事项全天开放 (demo: every service open all day;"
        " --real-hours uses the hall's hours)"
        if not real_hours
        else "  Hall hours as configured.",
        "  叫号提醒短信显示在演示台和这里 (turn-near SMS are shown on the demo desk and below)",
        f"  Press Ctrl+C to stop. Listening on {base}/",
    ]
    click.echo("\n".join(lines))
    from display.demo_agents import prepare_voice, start_display_agents

    prepare_voice(settings)
    for name, log_path in start_display_agents(settings, base, devices):
        click.echo(f"  LED agent      {name} (fake signs; what they show: {log_path})")
    from kiosk.demo_agents import start_kiosk_agents

    for name, folder in start_kiosk_agents(settings, base, devices):
        click.echo(f"  Kiosk          {base}/kiosk/{name}?token={devices[name][1]}")
        click.echo(f"                 (fake printer: tickets as PNG in {folder})")
    start_background_jobs(app)
    serve(app, host=host, port=port, async_mode=settings.server.async_mode)
