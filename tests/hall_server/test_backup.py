"""Backups taken while the hall issues and calls restore to a consistent hall
(docs/DEPLOY.md, "Backups"): `hall backup DEST` on SQLite, `pg_dump` on PostgreSQL.

Consistent: the hall log's seq has no gap and matches the hall's last seq, every ticket has
its issued event, each counter matches its tickets, and every ticket the server answered
before the backup began is in it.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.live import LiveHall, start_live_hall
from tests.support.polling import until
from tests.support.serve import start_hall_serve

pytestmark = pytest.mark.slow


def _hall(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hall_server", *command], env=env,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip


def _issue_until(hall: LiveHall, stop: threading.Event, acked: list[str]) -> None:
    """Issue tickets one after another until ``stop``; keep the numbers the server answered.
    Every fifth ticket, window 3 calls the next one and finishes it."""
    with requests.Session() as kiosk, requests.Session() as staff:
        kiosk.headers["Authorization"] = f"Bearer {hall.tokens['kiosk-1']}"
        staff.headers["Authorization"] = f"Bearer {hall.tokens['staff1']}"
        staff.post(hall.url("/api/v1/windows/3/open"), timeout=10).raise_for_status()
        while not stop.is_set() and len(acked) < 2000:
            response = kiosk.post(hall.url("/api/v1/tickets"), json={"service": "b"}, timeout=10)
            if response.ok:
                acked.append(response.json()["number"])
            if len(acked) % 5 == 0:
                for action in ("call-next", "finish"):
                    staff.post(hall.url(f"/api/v1/windows/3/{action}"), timeout=10)


def _consistency_problems(path: Path) -> list[str]:
    """What is wrong with the hall in the SQLite file at ``path`` (nothing: [])."""
    return _problems_at(f"sqlite:///file:{path}?mode=ro&uri=true")


def _problems_at(url: str) -> list[str]:
    """What is wrong with the hall in the database at ``url`` (nothing: [])."""
    engine = create_engine(url)
    try:
        with engine.connect() as db:
            return _problems(lambda sql: db.execute(text(sql)).all())
    finally:
        engine.dispose()


def _problems(query: Any) -> list[str]:
    problems = []
    tickets = query("SELECT id, service_id, business_day, number FROM tickets")
    issued = {row[0] for row in query(
        "SELECT ticket_id FROM hall_log WHERE type = 'ticket.issued'")}  # fmt: skip
    problems += [f"ticket {number} has no issued event"
                 for tid, _, _, number in tickets if tid not in issued]  # fmt: skip
    per_counter = Counter((service, day) for _, service, day, _ in tickets)
    for service, day, count, last in query(
        "SELECT service_id, business_day, issued, last_number FROM counters"
    ):
        if count != per_counter[(service, day)] or (count and last != count):
            problems.append(f"counter {service}/{day}: issued {count}, last {last}, "
                            f"tickets {per_counter[(service, day)]}")  # fmt: skip
    seqs = [row[0] for row in query("SELECT seq FROM hall_log ORDER BY seq")]
    if seqs != list(range(1, len(seqs) + 1)):
        problems.append("the hall log's seq has a gap")
    ((last_seq,),) = query("SELECT last_seq FROM halls")
    if last_seq != len(seqs):
        problems.append(f"hall last_seq {last_seq} but {len(seqs)} events")
    return problems


def test_a_backup_taken_while_tickets_are_issued_restores_to_a_consistent_hall(
    tmp_path: Path,
) -> None:
    hall = start_live_hall(tmp_path)
    acked: list[str] = []
    stop = threading.Event()
    issuing = threading.Thread(target=_issue_until, args=(hall, stop, acked), daemon=True)
    backup = tmp_path / "backups" / "hall.db"
    backup.parent.mkdir()
    try:
        issuing.start()
        until(lambda: len(acked) >= 20, 30, what="tickets being issued")
        before = len(acked)
        done = _hall(["backup", str(backup)], hall.env)
        assert done.returncode == 0, done.stderr
        until(lambda: len(acked) >= before + 20, 30, what="issuing going on after the backup")
    finally:
        stop.set()
        issuing.join(timeout=20)
        hall.stop()

    assert _consistency_problems(backup) == []
    with sqlite3.connect(f"file:{backup}?mode=ro", uri=True) as copy:
        in_backup = {row[0] for row in copy.execute("SELECT number FROM tickets")}
        (mode,) = copy.execute("PRAGMA journal_mode").fetchone()
    assert set(acked[:before]) <= in_backup  # answered before the backup began: in it
    assert 0 < len(in_backup) < len(acked)  # a moment in the middle of the load
    assert mode == "delete"  # one self-contained file, no -wal beside it
    assert not list(backup.parent.glob("*.partial"))

    # Restore: the file under a fresh var dir; the server starts on it and goes on numbering.
    restored_var = tmp_path / "restored"
    restored_var.mkdir()
    os.link(backup, restored_var / "hall.db")
    env = {**hall.env, "HALL_VAR_DIR": str(restored_var)}
    assert _hall(["init"], env).returncode == 0
    server = start_hall_serve(env, tmp_path / "restored.log")
    try:
        headers = {"Authorization": f"Bearer {hall.tokens['kiosk-1']}"}
        issued = requests.post(server.url("/api/v1/tickets"), json={"service": "b"},
                               headers=headers, timeout=10)  # fmt: skip
        assert issued.ok, issued.text
        assert issued.json()["number"] == f"B{len(in_backup) + 1:03d}"
    finally:
        server.stop()
    assert _consistency_problems(restored_var / "hall.db") == []


def test_backup_refuses_postgresql_and_names_the_tools_to_use(tmp_path: Path) -> None:
    env = {**os.environ, "HALL_VAR_DIR": str(tmp_path / "var"),
           "HALL_DATABASE_URL": "postgresql+psycopg://hall@127.0.0.1:1/hall"}  # fmt: skip
    done = _hall(["backup", str(tmp_path / "x.db")], env)
    assert done.returncode != 0
    assert "pg_dump" in done.stderr and not (tmp_path / "x.db").exists()


def _libpq(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as pg_dump and pg_restore take it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _pg_tool(name: str) -> str:
    from tests.needs import need_program

    from .postgres import find_bin_dir

    bin_dir = find_bin_dir()
    return str(bin_dir / name) if bin_dir and (bin_dir / name).exists() else need_program(name)


@pytest.mark.postgres
def test_a_pg_dump_taken_while_the_hall_issues_and_calls_restores_to_a_consistent_hall(
    tmp_path: Path, postgres_databases: Any
) -> None:
    source, target = postgres_databases.create(), postgres_databases.create()
    dump = tmp_path / "hall.dump"
    try:
        hall = start_live_hall(tmp_path, database_url=source)
        acked: list[str] = []
        stop = threading.Event()
        issuing = threading.Thread(target=_issue_until, args=(hall, stop, acked), daemon=True)
        try:
            issuing.start()
            until(lambda: len(acked) >= 20, 30, what="tickets being issued")
            before = len(acked)
            # As docs/DEPLOY.md says: pg_dump reads one snapshot of the database (a repeatable
            # read transaction), so the copy is one moment of the hall while it goes on.
            dumped = subprocess.run(
                [_pg_tool("pg_dump"), "--format=custom", f"--file={dump}", _libpq(source)],
                capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip
            assert dumped.returncode == 0, dumped.stderr
            until(lambda: len(acked) >= before + 20, 30, what="issuing going on after the dump")
        finally:
            stop.set()
            issuing.join(timeout=20)
            hall.stop()

        restored = subprocess.run(
            [_pg_tool("pg_restore"), "--no-owner", "--exit-on-error", f"--dbname={_libpq(target)}",
             str(dump)],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert restored.returncode == 0, restored.stderr
        assert _problems_at(target) == []
        engine = create_engine(target)
        try:
            with engine.connect() as db:
                in_backup = {row[0] for row in db.execute(text("SELECT number FROM tickets"))}
        finally:
            engine.dispose()
        assert set(acked[:before]) <= in_backup  # answered before the dump began: in it
        assert 0 < len(in_backup) < len(acked)  # a moment in the middle of the load

        # The restored database serves: `hall init` finds it current, numbering goes on.
        env = {**hall.env, "HALL_DATABASE_URL": target}
        assert _hall(["init"], env).returncode == 0
        server = start_hall_serve(env, tmp_path / "restored.log")
        try:
            issued = requests.post(server.url("/api/v1/tickets"), json={"service": "b"},
                                   headers={"Authorization": f"Bearer {hall.tokens['kiosk-1']}"},
                                   timeout=10)  # fmt: skip
            assert issued.ok, issued.text
            assert issued.json()["number"] == f"B{len(in_backup) + 1:03d}"
        finally:
            server.stop()
        assert _problems_at(target) == []
    finally:
        postgres_databases.drop(source)
        postgres_databases.drop(target)
