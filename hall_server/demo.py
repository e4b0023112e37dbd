"""``hall demo``: the demo hall from config/, every part, fake devices, printed logins and URLs."""

from __future__ import annotations

import click

from .app import database_url
from .settings import Settings


def open_all_day(settings: Settings) -> Settings:
    """The same hall with every service open every day, so the demo works at any hour."""
    services = tuple(
        s.model_copy(update={"hours": (("00:00", "23:59"),), "weekdays": tuple(range(1, 8)),
                             "weekday_hours": {}})
        for s in settings.hall.services
    )  # fmt: skip
    return settings.model_copy(
        update={"hall": settings.hall.model_copy(update={"services": services})}
    )


def run_demo(settings: Settings, *, host: str, port: int, real_hours: bool = False) -> None:
    """Prepare the demo database, print how to get in, and serve until interrupted."""
    from . import create_app
    from .bootstrap import start_background_jobs
    from .server import serve
    from .services.setup import create_demo_logins, init_database, rotate_device_tokens

    if not real_hours:
        settings = open_all_day(settings)
    url = database_url(settings)
    db, hall_id, _ = init_database(settings, url)
    logins = create_demo_logins(db, hall_id)
    devices = rotate_device_tokens(db, hall_id)
    db.dispose()
    app = create_app(settings=settings)
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
        *evaluators,
        *displays,
        "",
        "  Demo logins (login / password):",
        *[f"    {login:<12} {password:<18} {role}" for login, role, password in logins],
        "",
        "  Device tokens (fresh each start):",
        *[f"    {name:<16} {kind:<10} {token}" for name, (kind, token) in devices.items()],
        "",
        "  演示模式：各事项全天开放 (demo: every service open all day;"
        " --real-hours uses the hall's hours)"
        if not real_hours
        else "  Hall hours as configured.",
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
