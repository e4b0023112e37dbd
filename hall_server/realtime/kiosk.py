"""Socket.IO namespace /kiosk: print jobs to a kiosk's agent, results and printer state to its page.

Both the kiosk page and the kiosk agent connect with the kiosk's device token,
``auth={"token": …, "role": "agent" | "page"}``, and join their kiosk's room. The agent
gets ``print`` jobs (pending ones again after a reconnect) and answers ``print_result``;
the page gets ``print_result`` and ``printer`` (ready or not, and the sentence to show).
An agent's connection is the kiosk's ``agent`` device part: online while connected. Like
/hall, a connection lasts only as long as its token (tokens.py): a revoked kiosk's agent
gets no more print jobs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import request
from flask_socketio import join_room

from ..contract import KIOSK_NAMESPACE
from ..domain.errors import DomainError, Forbidden, InvalidInput
from ..extensions import socketio
from ..services.actors import Actor
from ..services.auth import authenticate
from ..services.context import HallContext
from ..services.devices import find_device
from ..services.kiosk import agent_presence, jobs_to_resend, kiosk_printer, record_print_result
from .inbound import CheckedNamespace, number_of, object_of, refusal, text_of
from .tokens import TokenWatch

log = logging.getLogger(__name__)

ROLES = ("agent", "page")


def kiosk_room(hall_id: int, kiosk: str, role: str) -> str:
    """Name the room of one kiosk's agent or page."""
    return f"kiosk:{hall_id}:{kiosk}:{role}"


class KioskNamespace(CheckedNamespace):
    """The namespace of kiosk agents and kiosk pages."""

    def __init__(self, ctx: HallContext) -> None:
        super().__init__(KIOSK_NAMESPACE)
        self.ctx = ctx
        self.token_watch = TokenWatch(ctx, KIOSK_NAMESPACE)
        self.sessions: dict[str, tuple[Actor, str]] = {}  # sid -> (kiosk, role)

    def on_connect(self, auth: Any = None) -> None:
        try:  # malformed auth is refused in words, like a wrong token (inbound.py)
            auth = object_of(auth, "auth")
            role = text_of(auth, "role") or "page"
            if role not in ROLES:
                raise InvalidInput(f"role 须为 agent 或 page (role must be agent or page: {role}).")
            token = text_of(auth, "token")
            who = authenticate(self.ctx, token)
            if who.kind != "device" or who.role != "kiosk":
                raise Forbidden("只有取号机可以连接 (only a kiosk connects here).")
        except DomainError as error:
            raise refusal(error) from None
        sid = request.sid  # type: ignore[attr-defined]
        self.sessions[sid] = (who, role)
        self.token_watch.watch(sid, str(token))
        join_room(kiosk_room(self.ctx.hall_id, who.name, role))
        if role == "agent":
            agent_presence(self.ctx, who, online=True)
            for job in jobs_to_resend(self.ctx, who):
                self.emit("print", job, room=sid)
        else:
            self.emit("printer", kiosk_printer(self.ctx, who), room=sid)

    def on_disconnect(self, *_: Any) -> None:
        sid = request.sid  # type: ignore[attr-defined]
        self.token_watch.forget(sid)
        who, role = self.sessions.pop(sid, (None, ""))
        if who is None or role != "agent":
            return
        still = any(w.id == who.id and r == "agent" for w, r in self.sessions.values())
        if not still:
            try:
                agent_presence(self.ctx, who, online=False)
            except Exception:  # the server may be stopping: the status is stale, not wrong
                log.exception("could not record that the agent of %s left", who.name)

    def on_print_result(self, data: Any = None, *_: Any) -> dict[str, Any]:
        """Take the agent's answer ``{job_id, ok, error?}``; anything else is an error event."""
        who = self._sender("agent")
        data = object_of(data, "print_result")
        job_id, ok, error = number_of(data, "job_id"), data.get("ok"), data.get("error") or ""
        if job_id is None or not isinstance(ok, bool) or not isinstance(error, str):
            raise InvalidInput(
                "print_result 须为 {job_id: 整数, ok: 真假, error?: 文字} "
                "(print_result must be {job_id: integer, ok: boolean, error?: string})."
            )
        job = record_print_result(self.ctx, who, job_id, ok=ok, error=error[:300])
        page = kiosk_room(self.ctx.hall_id, who.name, "page")
        self.emit("print_result", {k: v for k, v in job.items() if k != "ticket"}, room=page)
        return {"ok": True, "state": job["state"]}

    def on_card(self, data: Any = None, *_: Any) -> None:
        """Pass an ID card the agent read to its page (the page shows it masked)."""
        who = self._sender("agent")
        card = object_of(data, "card")
        self.emit("card", card, room=kiosk_room(self.ctx.hall_id, who.name, "page"))

    def on_read_card(self, data: Any = None, *_: Any) -> None:
        """Ask this kiosk's agent to read the ID card on its reader (within ``timeout_s``)."""
        who = self._sender("page")
        timeout_s = object_of(data, "read_card").get("timeout_s", 15)
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float):
            raise InvalidInput("timeout_s 须为秒数 (timeout_s must be a number of seconds).")
        order = {"timeout_s": min(max(float(timeout_s), 1.0), 60.0)}
        self.emit("read_card", order, room=kiosk_room(self.ctx.hall_id, who.name, "agent"))

    def _sender(self, role: str) -> Actor:
        """The kiosk of this connection, which must be its ``role`` (agent or page)."""
        session = self.sessions.get(request.sid)  # type: ignore[attr-defined]
        if session is None or session[1] != role:
            raise Forbidden(
                f"只有取号机的{'代理' if role == 'agent' else '页面'}可以发这条消息 "
                f"(only the kiosk's {role} sends this)."
            )
        return session[0]


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
    found = find_device(ctx, name)
    return None if found is None else found.id


def init_kiosk_realtime(ctx: HallContext) -> None:
    """Register /kiosk (printer changes reach kiosk pages through printer_changes, wired in
    hall_server/bootstrap.py)."""
    socketio.on_namespace(KioskNamespace(ctx))
