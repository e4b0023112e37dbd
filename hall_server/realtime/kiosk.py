"""Socket.IO namespace /kiosk: print jobs to a kiosk's agent, results and printer state to its page.

Both the kiosk page and the kiosk agent connect with the kiosk's device token,
``auth={"token": …, "role": "agent" | "page"}``, and join their kiosk's room. The agent
gets ``print`` jobs (pending ones again after a reconnect) and answers ``print_result``;
the page gets ``print_result`` and ``printer`` (ready or not, and the sentence to show).
An agent's connection is the kiosk's ``agent`` device part: online while connected.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import request
from flask_socketio import ConnectionRefusedError, Namespace, join_room
from sqlalchemy import select

from ..contract import KIOSK_NAMESPACE
from ..domain.errors import DomainError
from ..extensions import socketio
from ..models import Device
from ..services.actors import Actor
from ..services.auth import authenticate
from ..services.context import HallContext
from ..services.kiosk import agent_presence, jobs_to_resend, kiosk_printer, record_print_result

log = logging.getLogger(__name__)

ROLES = ("agent", "page")


def kiosk_room(hall_id: int, kiosk: str, role: str) -> str:
    """Name the room of one kiosk's agent or page."""
    return f"kiosk:{hall_id}:{kiosk}:{role}"


class KioskNamespace(Namespace):  # type: ignore[misc]
    """The namespace of kiosk agents and kiosk pages."""

    def __init__(self, ctx: HallContext) -> None:
        super().__init__(KIOSK_NAMESPACE)
        self.ctx = ctx
        self.sessions: dict[str, tuple[Actor, str]] = {}  # sid -> (kiosk, role)

    def on_connect(self, auth: dict[str, Any] | None = None) -> None:
        auth = auth if isinstance(auth, dict) else {}
        role = auth.get("role", "page")
        try:
            who = authenticate(self.ctx, auth.get("token"))
            if who.kind != "device" or who.role != "kiosk":
                raise DomainError("只有取号机可以连接 (only a kiosk connects here).")
            if role not in ROLES:
                raise DomainError(f"role 须为 agent 或 page (got {role!r}).")
        except DomainError as error:
            raise ConnectionRefusedError({"code": error.code, "message": error.message}) from None
        sid = request.sid  # type: ignore[attr-defined]
        self.sessions[sid] = (who, role)
        join_room(kiosk_room(self.ctx.hall_id, who.name, role))
        if role == "agent":
            agent_presence(self.ctx, who, online=True)
            for job in jobs_to_resend(self.ctx, who):
                self.emit("print", job, room=sid)
        else:
            self.emit("printer", kiosk_printer(self.ctx, who), room=sid)

    def on_disconnect(self, *_: Any) -> None:
        sid = request.sid  # type: ignore[attr-defined]
        who, role = self.sessions.pop(sid, (None, ""))
        if who is None or role != "agent":
            return
        still = any(w.id == who.id and r == "agent" for w, r in self.sessions.values())
        if not still:
            try:
                agent_presence(self.ctx, who, online=False)
            except Exception:  # the server may be stopping: the status is stale, not wrong
                log.exception("could not record that the agent of %s left", who.name)

    def on_print_result(self, data: dict[str, Any] | None = None) -> dict[str, Any]:
        sid = request.sid  # type: ignore[attr-defined]
        who, role = self.sessions.get(sid, (None, ""))
        if who is None or role != "agent" or not isinstance(data, dict):
            return {"ok": False, "error": "not an agent"}
        try:
            job = record_print_result(
                self.ctx,
                who,
                int(data.get("job_id", 0)),
                ok=bool(data.get("ok")),
                error=str(data.get("error", ""))[:300],
            )
        except (DomainError, ValueError) as error:
            return {"ok": False, "error": str(error)}
        page = kiosk_room(self.ctx.hall_id, who.name, "page")
        self.emit("print_result", {k: v for k, v in job.items() if k != "ticket"}, room=page)
        return {"ok": True, "state": job["state"]}

    def on_card(self, data: dict[str, Any] | None = None) -> None:
        """Pass an ID card the agent read to its page (the page shows it masked)."""
        sid = request.sid  # type: ignore[attr-defined]
        who, role = self.sessions.get(sid, (None, ""))
        if who is not None and role == "agent" and isinstance(data, dict):
            self.emit("card", data, room=kiosk_room(self.ctx.hall_id, who.name, "page"))

    def on_read_card(self, data: dict[str, Any] | None = None) -> None:
        """Ask this kiosk's agent to read the ID card on its reader."""
        sid = request.sid  # type: ignore[attr-defined]
        who, role = self.sessions.get(sid, (None, ""))
        if who is not None and role == "page":
            self.emit("read_card", data or {}, room=kiosk_room(self.ctx.hall_id, who.name, "agent"))


def send_print_job(ctx: HallContext, kiosk: str, job: dict[str, Any]) -> None:
    """Send a print job to the kiosk's agent (kept pending and resent if none is there)."""
    socketio.emit(
        "print", job, to=kiosk_room(ctx.hall_id, kiosk, "agent"), namespace=KIOSK_NAMESPACE
    )


def printer_changes(ctx: HallContext) -> Callable[[list[dict[str, Any]]], None]:
    """Tell a kiosk page at once when its printer or agent changed."""

    def forward(events: list[dict[str, Any]]) -> None:
        for event in events:
            if event.get("type") != "device.status" or event.get("kind") != "kiosk":
                continue
            part = (event.get("status") or {}).get("part")
            if part not in ("printer", "agent"):
                continue
            kiosk = str(event.get("device"))
            who = Actor("device", _device_id(ctx, kiosk), kiosk, "kiosk")
            try:
                printer = kiosk_printer(ctx, who)
            except DomainError:
                continue
            socketio.emit(
                "printer",
                printer,
                to=kiosk_room(ctx.hall_id, kiosk, "page"),
                namespace=KIOSK_NAMESPACE,
            )

    return forward


def _device_id(ctx: HallContext, name: str) -> int | None:
    with ctx.db.read() as session:
        return session.scalar(
            select(Device.id).where(Device.hall_id == ctx.hall_id, Device.name == name)
        )


def init_kiosk_realtime(ctx: HallContext) -> None:
    """Register /kiosk (printer changes reach kiosk pages through printer_changes, wired in
    hall_server/bootstrap.py)."""
    socketio.on_namespace(KioskNamespace(ctx))
