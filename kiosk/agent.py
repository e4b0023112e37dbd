"""The kiosk agent (``hall kiosk-agent``): owns the kiosk's printer and ID-card reader.

It connects to the hall server's Socket.IO namespace /kiosk with the kiosk's device token,
gets ``print`` jobs, prints each from a worker thread (a slow or jammed printer never
blocks the socket), and answers ``print_result``. It reports the printer's status (and the
reader's) through ``POST /api/v1/devices/status`` when it changes, right after a failed
job, and once a minute as a heartbeat. It reconnects by itself; jobs the server still holds
as pending are sent again after a reconnect, and a job already printed is only
acknowledged again, never printed twice.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from devices.base import DeviceError, DeviceStatus
from devices.idcard import IdCardReader, mask_id
from devices.printer import FakePrinter, Printer, TicketPrint, build_printer
from hall_server.client.api import ApiError, HallApi, Unreachable
from hall_server.client.connection import Connection
from hall_server.client.status import StatusReporter
from hall_server.contract import DEMO_PAPER, KIOSK_NAMESPACE

log = logging.getLogger(__name__)

HEARTBEAT_S = 60.0
DONE_MEMORY = 500  # job ids remembered as answered (a resent job is acknowledged, not reprinted)


def ticket_from_job(job: Mapping[str, Any]) -> TicketPrint:
    """Turn a print job's ticket (as the server sends it) into what the printer lays out."""
    t = job["ticket"]
    return TicketPrint(
        hall_name=str(t["hall_name"]),
        service_name=str(t["service_name"]),
        service_name_en=str(t.get("service_name_en", "")),
        number=str(t["number"]),
        people_ahead=int(t["people_ahead"]),
        eta_min=None if t.get("eta_min") is None else int(t["eta_min"]),
        issued_at=datetime.fromisoformat(str(t["issued_at"])),
        zone=str(t.get("zone", "")),
        floor=str(t.get("floor", "")),
        qr_url=str(t["qr_url"]),
        notices=tuple(str(n) for n in t.get("notices", ())),
        priority_label=str(t.get("priority_label", "")),
        appointment_label=str(t.get("appointment_label", "")),
        eta_past_closing=bool(t.get("eta_past_closing", False)),
    )


class KioskAgent:
    """One kiosk's agent: a Socket.IO client, a print worker and a status reporter."""

    def __init__(
        self,
        server_url: str,
        token: str,
        printer: Printer,
        *,
        id_reader: IdCardReader | None = None,
        status_interval_s: float = 10.0,
    ) -> None:
        """Prepare the agent; ``start()`` connects and begins working."""
        self.server_url = server_url.rstrip("/")
        self.token = token
        self.printer = printer
        self.id_reader = id_reader
        self.status_interval_s = status_interval_s
        self.jobs: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.results: dict[int, dict[str, Any]] = {}  # job id -> the answer sent
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._status_wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._queued: set[int] = set()  # job ids in the queue, not yet answered
        self._lock = threading.Lock()
        self.api = HallApi(self.server_url, token)
        self.status = StatusReporter(self.api, heartbeat_s=HEARTBEAT_S)
        self.link = Connection(self.server_url, KIOSK_NAMESPACE, {"token": token, "role": "agent"},
                               name="kiosk-agent-connection")  # fmt: skip
        self.link.on("print", self._on_print)
        self.link.on("read_card", self._on_read_card)
        self.link.on(DEMO_PAPER, self._on_demo_paper)
        self.link.watch(self._on_link)

    # ------------------------------------------------------------ life
    def start(self) -> KioskAgent:
        """Connect (retrying until the server answers) and start the worker threads."""
        for target, name in ((self._print_worker, "print"), (self._status_loop, "status")):
            thread = threading.Thread(target=target, name=f"kiosk-agent-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self.link.start()
        return self

    def stop(self) -> None:
        """Disconnect, stop the threads and release the devices."""
        self._stop.set()
        self._status_wake.set()
        self.jobs.put(None)
        self.link.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        self.api.close()
        self.printer.close()
        if self.id_reader is not None:
            self.id_reader.close()

    def _on_link(self, change: str) -> None:
        if change == "connected":
            self.connected.set()
            self.status.forget()  # the server may have lost what we told it: say it again
            self._status_wake.set()
        elif change == "disconnected":
            self.connected.clear()

    # ------------------------------------------------------------ printing
    def _on_print(self, job: dict[str, Any]) -> None:
        job_id = int(job.get("job_id", 0))
        answered = self.results.get(job_id)
        if answered is not None:
            self._answer(answered)  # printed already: the first answer was lost
            return
        with self._lock:
            if job_id in self._queued:
                return  # sent again while still waiting its turn: print it once
            self._queued.add(job_id)
        self.jobs.put(job)

    def _print_worker(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            job_id = int(job["job_id"])
            if job_id in self.results:
                self._answer(self.results[job_id])
                continue
            try:
                self.printer.print_ticket(ticket_from_job(job))
                result: dict[str, Any] = {"job_id": job_id, "ok": True}
                log.info("printed %s", job["ticket"].get("number"))
            except (DeviceError, KeyError, ValueError, TypeError) as error:
                result = {"job_id": job_id, "ok": False, "error": str(error)[:300]}
                log.warning("print of %s failed: %s", job.get("number"), error)
                self._status_wake.set()  # tell the hall what the printer says now
            self.results[job_id] = result
            with self._lock:
                self._queued.discard(job_id)
            if len(self.results) > DONE_MEMORY:
                del self.results[next(iter(self.results))]
            self._answer(result)

    def _answer(self, result: dict[str, Any]) -> None:
        # Not connected: the server resends the pending job after the reconnect; we answer then.
        self.link.emit("print_result", result)

    def _on_demo_paper(self, data: dict[str, Any] | None = None) -> None:
        """``hall demo``'s paper control: a fake printer takes the state, a real one ignores it."""
        if not isinstance(self.printer, FakePrinter):
            log.warning("ignored a demo paper order: this kiosk's printer is not the fake one")
            return
        try:
            self.printer.paper = (data or {}).get("paper")  # type: ignore[assignment]
        except ValueError as error:
            log.warning("ignored a demo paper order: %s", error)
            return
        log.info("fake printer paper set to %s", self.printer.paper)
        self._status_wake.set()  # tell the hall at once, as a real sensor change would be

    # ------------------------------------------------------------ ID card
    def _on_read_card(self, data: dict[str, Any] | None = None) -> None:
        timeout = float((data or {}).get("timeout_s", 15))
        threading.Thread(target=self._read_card, args=(timeout,), daemon=True).start()

    def _read_card(self, timeout_s: float) -> None:
        if self.id_reader is None:
            answer = {"ok": False, "message": "本机没有身份证阅读器 / no ID-card reader here"}
        else:
            try:
                card = self.id_reader.read(timeout_s)
            except DeviceError as error:
                card, answer = None, {"ok": False, "message": str(error)}
            else:
                answer = (
                    {"ok": True, "id_number": card.id_number, "masked": mask_id(card.id_number)}
                    if card is not None
                    else {"ok": False, "message": "未读到身份证 / no card was read"}
                )
        self.link.emit("card", answer)

    # ------------------------------------------------------------ status
    def _status_loop(self) -> None:
        while not self._stop.is_set():
            if self.connected.is_set():
                self._report("printer", self.printer.status)
                if self.id_reader is not None:
                    self._report("id_reader", self.id_reader.status)
            self._status_wake.wait(self.status_interval_s)
            self._status_wake.clear()

    def _report(self, part: str, read: Callable[[], DeviceStatus]) -> None:
        try:
            status: dict[str, Any] = read().as_dict()
        except DeviceError as error:
            status = {"health": "unknown", "online": None, "detail": {}, "message": str(error)}
        self.status.report(part, status)


def kiosk_config(server_url: str, token: str) -> dict[str, Any]:
    """Ask the server for this kiosk's name and device options (printer, id_reader)."""
    api = HallApi(server_url, token, timeout_s=10)
    try:
        return api.call("GET", "/kiosk/config")
    finally:
        api.close()


def build_agent(
    server_url: str,
    token: str,
    *,
    printer_options: Mapping[str, Any] | None = None,
    id_reader_options: Mapping[str, Any] | None = None,
    out_dir: Path | None = None,
    status_interval_s: float = 10.0,
) -> KioskAgent:
    """Build the agent; devices not given come from the kiosk's options on the server."""
    from devices.idcard import build_id_reader

    if printer_options is None or id_reader_options is None:
        config = kiosk_config(server_url, token)
        options = config.get("options", {})
        if printer_options is None:
            printer_options = options.get("printer")
        if id_reader_options is None:
            id_reader_options = options.get("id_reader")
        if out_dir is not None:
            out_dir = out_dir / str(config.get("name", "kiosk"))
    if not isinstance(printer_options, Mapping):
        raise DeviceError(
            "本机没有配置打印机 (no printer configured: give --printer or set the kiosk's "
            "options.printer in the hall config)"
        )
    printer = build_printer(printer_options, out_dir=out_dir)
    reader = build_id_reader(id_reader_options) if isinstance(id_reader_options, Mapping) else None
    return KioskAgent(
        server_url, token, printer, id_reader=reader, status_interval_s=status_interval_s
    )


def run_agent(agent: KioskAgent, *, until: threading.Event | None = None) -> None:
    """Run until interrupted (or ``until`` is set)."""
    agent.start()
    stop = until or threading.Event()
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        agent.stop()


def agent_from_cli(
    server: str,
    token: str,
    printer_json: str | None,
    reader_json: str | None,
    out_dir: str | None,
    *,
    verbose: bool = False,
) -> None:
    """Build and run the agent from ``hall kiosk-agent`` options; stop on Ctrl+C."""
    import json

    import click

    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")  # fmt: skip
    try:
        printer = json.loads(printer_json) if printer_json else None
        reader = json.loads(reader_json) if reader_json else None
    except json.JSONDecodeError as error:
        raise click.UsageError(f"--printer / --id-reader must be JSON: {error}") from None
    try:
        agent = build_agent(server, token, printer_options=printer, id_reader_options=reader,
                            out_dir=Path(out_dir) if out_dir else None)  # fmt: skip
    except (DeviceError, ApiError, Unreachable) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"kiosk agent: printing for {server} (Ctrl+C to stop)")
    run_agent(agent)
