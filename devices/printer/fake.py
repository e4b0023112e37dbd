"""The shipped fake printer: keeps each ticket's bytes and saves it as a PNG to look at."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Literal, get_args

from devices.base import DeviceError, DeviceStatus, Health
from devices.printer.layout import render_png, ticket_bytes
from devices.printer.profile import PrinterProfile
from devices.printer.status import MESSAGES
from devices.printer.ticket import TicketPrint

PaperState = Literal["ok", "low", "out", "offline"]


class FakePrinter:
    """A printer for demos and tests; ``paper`` is what it claims to have."""

    def __init__(
        self,
        profile: PrinterProfile | None = None,
        *,
        out_dir: Path | None = None,
        paper: PaperState = "ok",
    ) -> None:
        """Print into memory, and into ``out_dir`` as <number>.png when given."""
        self.profile = profile or PrinterProfile()
        self.out_dir = out_dir
        self.printed: list[tuple[TicketPrint, bytes]] = []
        self._paper: PaperState = "ok"
        self.paper = paper
        self._lock = threading.Lock()

    @property
    def paper(self) -> PaperState:
        """Return the paper state the fake reports."""
        return self._paper

    @paper.setter
    def paper(self, state: PaperState) -> None:
        if state not in get_args(PaperState):
            raise ValueError(f"paper must be one of {get_args(PaperState)}, not {state!r}")
        self._paper = state

    def print_ticket(self, ticket: TicketPrint) -> None:
        """Keep the ticket's bytes and write its PNG; refuse like a real printer would."""
        if self._paper == "out":
            raise DeviceError(f"打印 {ticket.number} 失败：打印机缺纸 / printer out of paper")
        if self._paper == "offline":
            raise DeviceError(f"打印 {ticket.number} 失败：打印机离线 / printer offline")
        data = ticket_bytes(ticket, self.profile)
        with self._lock:
            self.printed.append((ticket, data))
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            png = render_png(ticket, self.profile)
            safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in ticket.number)
            path = self.out_dir / f"{safe}.png"
            # Write then rename, so a screen showing the file never reads half of it.
            partial = path.with_suffix(".png.part")
            partial.write_bytes(png)
            partial.replace(path)

    def status(self) -> DeviceStatus:
        """Report the paper state set on the fake."""
        state = self._paper
        if state == "offline":
            return DeviceStatus(Health.FAULT, False, {"paper": "unknown"}, MESSAGES["offline"])
        health = {"ok": Health.OK, "low": Health.WARNING, "out": Health.FAULT}[state]
        return DeviceStatus(health, True, {"paper": state}, MESSAGES[state])

    def close(self) -> None:
        """Nothing to release."""

    @property
    def last_bytes(self) -> bytes:
        """Return the bytes of the last ticket printed."""
        if not self.printed:
            raise LookupError("nothing printed yet")
        return self.printed[-1][1]
