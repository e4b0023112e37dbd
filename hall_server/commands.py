"""The subcommands of ``hall`` (click); see cli.py for the entry point."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import click

from .app import database_url
from .domain.errors import DomainError
from .settings import ConfigError, Settings, load_settings


def _settings(**server: Any) -> Settings:
    """The settings, with the ``[server]`` keys a command's options gave (None: not given)."""
    given = {key: value for key, value in server.items() if value is not None}
    try:
        return load_settings(command_line={"server": given} if given else None)
    except ConfigError as error:
        raise click.ClickException(f"配置有误 (config error):\n{error}") from None


@click.group(help="Smart Service Hall (智慧大厅) — the hall server and its tools.")
def cli() -> None:
    pass


@cli.command("init", help="Create or upgrade the database and load the hall layout (idempotent).")
def init_cmd() -> None:
    from .services.setup import init_database

    settings = _settings()
    url = database_url(settings)
    _, hall_id, changed = init_database(settings, url)
    what = "loaded" if changed else "unchanged"
    click.echo(f"hall {settings.hall.code} (id {hall_id}) {what}; database {_safe(url)}")


def _safe(url: str) -> str:
    """Hide a password in a database URL."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':')[0]}:***@{host}"
    return url


@cli.command("backup", help="Copy the SQLite hall to DEST while it runs (online, consistent).")
@click.argument("dest", type=click.Path(dir_okay=False, writable=True))
def backup_cmd(dest: str) -> None:
    import os
    import sqlite3
    from pathlib import Path

    url = database_url(_settings())
    if not url.startswith("sqlite:///"):
        raise click.ClickException(
            "hall backup 只备份 SQLite；PostgreSQL 请用 pg_dump 或基础备份 (hall backup copies "
            "SQLite only; back PostgreSQL up with pg_dump or base backups: docs/DEPLOY.md)"
        )
    source_path = url.removeprefix("sqlite:///")
    if not Path(source_path).is_file():
        raise click.ClickException(f"数据库不存在 (no database at {source_path}): run hall init")
    target = Path(dest)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    # SQLite's online backup in one step: a read transaction, so the copy is one consistent
    # moment of the hall, and in WAL mode the hall keeps issuing while it is taken.
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
    copy = sqlite3.connect(partial)
    try:
        source.backup(copy)
        checked = copy.execute("PRAGMA integrity_check").fetchone()[0]
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    finally:
        copy.close()
        source.close()
    if checked != "ok":
        partial.unlink(missing_ok=True)
        raise click.ClickException(f"备份校验失败 (the copy failed its integrity check: {checked})")
    os.replace(partial, target)  # never a half-written file under DEST's name
    click.echo(f"backup of {source_path} written to {target} ({target.stat().st_size} bytes)")


@cli.command("serve", help="Run the hall server.")
@click.option("--host", default=None, help="address to listen on (default from config)")
@click.option("--port", default=None, type=int, help="port (default from config)")
@click.option(
    "--workers",
    default=None,
    type=click.IntRange(1, 32),
    help="server processes sharing the port, under gunicorn (default from config: server.workers)",
)
def serve_cmd(host: str | None, port: int | None, workers: int | None) -> None:
    from . import create_app
    from .bootstrap import elect_leader
    from .server import serve
    from .services.setup import init_database

    settings = _settings(workers=workers)
    host = host or settings.server.host
    port = port or settings.server.port
    workers = settings.server.workers  # checked with the rest: a queue and gevent for several
    init_database(settings, database_url(settings))
    mode = settings.server.async_mode
    if workers > 1:  # gunicorn's master and N workers (hall_server/workers.py)
        import os

        click.echo(f"hall server on http://{host}:{port}/ ({workers} workers under gunicorn, "
                   f"async mode {mode})")  # fmt: skip
        sys.stdout.flush()
        command = [sys.executable, "-m", "hall_server.workers", "--host", host,
                   "--port", str(port), "--workers", str(workers)]  # fmt: skip
        os.execv(sys.executable, command)  # a fresh interpreter: gevent must not patch it
    app = create_app(settings=settings)
    click.echo(f"hall server on http://{host}:{port}/ (async mode {mode})")
    elect_leader(app)  # another `hall serve` on the same database may lead instead
    serve(app, host=host, port=port, async_mode=mode)


@cli.group("user", help="Staff logins.")
def user_group() -> None:
    pass


@user_group.command("add", help="Add a login, or reset its role and password.")
@click.argument("login")
@click.option("--role", type=click.Choice(["staff", "supervisor", "admin"]), required=True)
@click.option("--name", default="", help="the person's name as shown on screens")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def user_add(login: str, role: str, name: str, password_stdin: bool) -> None:
    from .db import Database
    from .services.auth import add_user
    from .services.setup import hall_id_of

    if not password_stdin:
        raise click.UsageError("give the password on standard input with --password-stdin")
    password = sys.stdin.readline().rstrip("\n")
    settings = _settings()
    db = Database(database_url(settings))
    try:
        add_user(db, hall_id_of(db, settings.hall.code), login, role=role, password=password,
                 name=name, now=datetime.now(UTC))  # fmt: skip
    except (DomainError, LookupError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"user {login} ({role}) saved")


@cli.group("device", help="Kiosks, displays, agents and evaluators.")
def device_group() -> None:
    pass


@device_group.command("add", help="Add a device (or rotate its token); prints the token once.")
@click.argument("name")
@click.option("--kind", type=click.Choice(["kiosk", "display", "agent", "evaluator"]),
              required=True)  # fmt: skip
def device_add(name: str, kind: str) -> None:
    from .db import Database
    from .services.auth import issue_device_token
    from .services.setup import hall_id_of

    settings = _settings()
    db = Database(database_url(settings))
    try:
        token = issue_device_token(db, hall_id_of(db, settings.hall.code), name, kind=kind)
    except (DomainError, LookupError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"device {name} ({kind}) token (shown once, store it on the device):")
    click.echo(token)


@cli.command("keypad-agent", help="Run a window keypad (叫号器) agent against a hall server.")
@click.option("--server", default="http://127.0.0.1:5000", envvar="HALL_SERVER_URL",
              show_default=True)  # fmt: skip
@click.option("--token", envvar="HALL_AGENT_TOKEN", required=True,
              help="the agent device's token (or HALL_AGENT_TOKEN)")  # fmt: skip
@click.option("--keypad", "keypad_json", default="",
              help='keypad options as JSON, e.g. {"type": "serial", "url": "/dev/ttyUSB0"}; '
                   "default: the device's options.keypad, else a fake")  # fmt: skip
@click.option("--window", type=int, default=None, help="window number (default: the first bound)")
@click.option("--evaluator-token", envvar="HALL_EVALUATOR_TOKEN", default=None,
              help="an evaluator device's token, to record score keys")  # fmt: skip
def keypad_agent_cmd(server: str, token: str, keypad_json: str, window: int | None,
                     evaluator_token: str | None) -> None:  # fmt: skip

    from window_client.agent import run_agent

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    run_agent(server, token, keypad_json=keypad_json, window=window,
              evaluator_token=evaluator_token)  # fmt: skip


@cli.command("demo", help="Run the demo hall: every part, fake devices, demo logins.")
@click.option("--port", default=5000, type=int)
@click.option("--host", default="127.0.0.1")
@click.option("--real-hours", is_flag=True, help="keep the services' configured hours")
def demo_cmd(port: int, host: str, real_hours: bool) -> None:
    from .demo import run_demo

    run_demo(_settings(), host=host, port=port, real_hours=real_hours)


@cli.command("display-agent", help="Drive a display agent's LED signs (and speaker) by its token.")
@click.option("--server", default="http://127.0.0.1:5000", show_default=True,
              help="the hall server's base URL")  # fmt: skip
@click.option("--token", envvar="HALL_DEVICE_TOKEN", required=True,
              help="the agent device's token (or set HALL_DEVICE_TOKEN)")  # fmt: skip
@click.option("--options", "options_file", type=click.Path(exists=True, dir_okay=False),
              help="TOML with the signs, replacing the device's options on the server")  # fmt: skip
@click.option("--play/--no-play", default=None, help="play announcements on this PC's speaker")
@click.option("-v", "--verbose", is_flag=True, help="log every sign write")
def display_agent_cmd(
    server: str, token: str, options_file: str | None, play: bool | None, verbose: bool
) -> None:
    from pathlib import Path

    from display.agent import run_agent

    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")  # fmt: skip
    path = Path(options_file) if options_file else None
    run_agent(server, token, options_file=path, play_audio=play)


@cli.command("kiosk-agent", help="Run a kiosk's printer (and ID-card reader) agent by its token.")
@click.option("--server", default="http://127.0.0.1:5000", show_default=True,
              help="the hall server's base URL")  # fmt: skip
@click.option("--token", envvar="HALL_DEVICE_TOKEN", required=True,
              help="the kiosk's device token (or set HALL_DEVICE_TOKEN)")  # fmt: skip
@click.option("--printer", "printer_json", default=None,
              help='printer options as JSON, e.g. \'{"type": "network", "host": "10.0.0.9"}\'; '
                   "default: the kiosk's options.printer on the server")  # fmt: skip
@click.option("--id-reader", "reader_json", default=None, help="ID-card reader options as JSON")
@click.option("--out-dir", default=None, type=click.Path(file_okay=False),
              help="where a fake printer writes each ticket as a PNG")  # fmt: skip
@click.option("-v", "--verbose", is_flag=True, help="log every job")
def kiosk_agent_cmd(server: str, token: str, printer_json: str | None, reader_json: str | None,
                    out_dir: str | None, verbose: bool) -> None:  # fmt: skip
    from kiosk.agent import agent_from_cli

    agent_from_cli(server, token, printer_json, reader_json, out_dir, verbose=verbose)


def _policy(text: str) -> dict[str, Any]:
    """``aging_min=10,priority_swap_ratio=2`` -> a call-next settings mapping."""
    policy: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep:
            raise click.BadParameter(
                f"{part!r} 不是 key=value (not key=value)", param_hint="--policy"
            )
        policy[key.strip()] = int(value) if value.strip().lstrip("-").isdigit() else value.strip()
    return policy


@cli.command("simulate", help="Run simulated hall days through the real services (模拟).")
@click.argument("scenario", type=click.Path(exists=True, dir_okay=False))
@click.option("--days", type=click.IntRange(1, 366), default=None,
              help="days to run (default: the scenario's)")  # fmt: skip
@click.option("--seed", type=int, default=None, help="random seed (default: the scenario's)")
@click.option("--policy", "policies", multiple=True, metavar="K=V[,K=V]",
              help="compare call-next settings on the same visitors, e.g. aging_min=10 "
                   "(repeatable)")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of tables")
def simulate_cmd(scenario: str, days: int | None, seed: int | None, policies: tuple[str, ...],
                 as_json: bool) -> None:  # fmt: skip
    import dataclasses
    import json
    from pathlib import Path

    from .simulation.engine import simulate
    from .simulation.report import comparison_table, day_table, result_json
    from .simulation.scenario import load_scenario

    try:
        base = load_scenario(Path(scenario), datetime.now(UTC).date())
    except DomainError as error:
        raise click.ClickException(error.message) from None
    if days is not None:
        base = dataclasses.replace(base, days=days)
    if seed is not None:
        base = dataclasses.replace(base, seed=seed)
    variants = [("scenario", base.policy)] + [(p, {**base.policy, **_policy(p)}) for p in policies]
    runs = []
    for name, policy in variants:
        try:
            result = simulate(dataclasses.replace(base, policy=policy))
        except (DomainError, ConfigError) as error:
            raise click.ClickException(getattr(error, "message", str(error))) from None
        runs.append((name, policy, result))
    if as_json:
        out = [result_json(result, policy) for _, policy, result in runs]
        click.echo(json.dumps(out[0] if len(out) == 1 else out, ensure_ascii=False, indent=2))
        return
    for name, _, result in runs:
        if len(runs) > 1:
            click.echo(f"\n#### {name}")
        for day in result.days:
            click.echo(day_table(day))
        click.echo(f"{result.tickets:,} tickets in {result.wall_s:.1f} s "
                   f"({result.tickets_per_s:,.0f} tickets/s through the services)")  # fmt: skip
    if len(runs) > 1:
        click.echo("\n== 各设置对比 call-next settings compared (same visitors)")
        click.echo(comparison_table([(name, result) for name, _, result in runs]))


def plan_table(plan: dict[str, Any]) -> str:
    """A staffing plan as a printed table: hour × group, Erlang's figures and the check."""
    from .simulation.report import _cell, _table

    header = ["时 hour", "组 group", "到达/h arrivals", "办理 handling (s)", "目标 target (min)",
              "窗口 windows", "Erlang 达标 share", "Erlang 平均等候 wait (s)",
              "模拟 达标 sim share", "模拟 平均等候 sim wait (s)", "模型 model"]  # fmt: skip
    rows = []
    for c in plan["cells"]:
        windows = str(c["windows"]) + (f" (+{c['added_after_simulation']})"
                                       if c["added_after_simulation"] else "")  # fmt: skip
        if c["short"]:
            windows += f" ⚠{c['windows_available']}"
        rows.append([f"{c['hour']:02d}", c["group"], _cell(float(c["arrivals_per_h"])),
                     _cell(float(c["handle_mean_s"])), str(c["target_min"]), windows,
                     _cell(c["erlang_share"]), _cell(c["erlang_wait_mean_s"]),
                     _cell(c["sim_share"]), _cell(c["sim_wait_mean_s"]),
                     "Erlang " + c["model"][-1].upper()])  # fmt: skip
    days = ", ".join(plan["history_days"])
    head = (f"== 排班建议 staffing plan for {plan['day']}: {plan['sla_share']:.0%} called within "
            f"the target; from {days}; simulated {plan['simulated_days']} day(s)")  # fmt: skip
    notes = "\n".join(f"- {n}" for n in plan["notes"])
    return "\n".join(filter(None, [head, _table(header, rows), notes]))


@cli.command("replay", help="Replay a recorded day from the hall log and compare it (重放).")
@click.option("--day", "day_text", required=True, metavar="YYYY-MM-DD",
              help="the business day to replay (the hall's time zone)")  # fmt: skip
@click.option("--database", "url", default=None, metavar="URL",
              help="the recorded hall's database (default: the configured one)")  # fmt: skip
def replay_cmd(day_text: str, url: str | None) -> None:
    from datetime import date

    from .db import Database
    from .services.context import HallContext
    from .simulation.replay import replay_day

    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        raise click.BadParameter(f"{day_text!r} 不是日期 (not a date; use YYYY-MM-DD)",
                                 param_hint="--day") from None  # fmt: skip
    settings = _settings()
    db = Database(url or database_url(settings))
    try:
        ctx = HallContext(db, settings.hall.code, secret="replay")
        result = replay_day(ctx, day)
    except LookupError as error:
        raise click.ClickException(str(error)) from None
    except DomainError as error:
        raise click.ClickException(error.message) from None
    finally:
        db.dispose()
    click.echo(result.summary())
    if not result.exact:
        sys.exit(1)


@cli.command("advise", help="Tomorrow's staffing plan (排班建议) from the last weeks' records.")
@click.option("--day", "day_text", default=None, metavar="YYYY-MM-DD",
              help="the day to plan (default: tomorrow in the hall's time zone)")  # fmt: skip
@click.option("--weeks", type=click.IntRange(1, 52), default=4, show_default=True,
              help="weeks of the same weekday to learn from")  # fmt: skip
@click.option("--check-days", type=click.IntRange(0, 20), default=3, show_default=True,
              help="simulated days that check the plan (0: Erlang only)")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of a table")
def advise_cmd(day_text: str | None, weeks: int, check_days: int, as_json: bool) -> None:
    import json
    from datetime import date, timedelta

    from .app import secret_key
    from .db import Database
    from .services.context import HallContext
    from .simulation.staffing import advise

    settings = _settings()
    db = Database(database_url(settings))
    try:
        ctx = HallContext(db, settings.hall.code, secret=secret_key(settings))
    except LookupError as error:
        raise click.ClickException(str(error)) from None
    if day_text is None:
        day = datetime.now(ctx.layout.tz).date() + timedelta(days=1)
    else:
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            raise click.BadParameter(f"{day_text!r} 不是日期 (not a date; use YYYY-MM-DD)",
                                     param_hint="--day") from None  # fmt: skip
    try:
        plan = advise(ctx, day, weeks=weeks, check_days=check_days).json()
    except (DomainError, ConfigError) as error:
        raise click.ClickException(getattr(error, "message", str(error))) from None
    finally:
        db.dispose()
    if as_json:
        click.echo(json.dumps(plan, ensure_ascii=False, indent=2))
    elif not plan["cells"]:
        click.echo(f"{day} 之前{weeks}周的同一星期几还没有取号记录，无法给出排班建议 "
                   f"(no tickets on the same weekday in the {weeks} weeks before {day} yet: "
                   "no staffing advice)")  # fmt: skip
    else:
        click.echo(plan_table(plan))
