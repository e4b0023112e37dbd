"""Printers over python-escpos connections: USB, network (port 9100), serial, device file."""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any, Protocol

import serial
from escpos.exceptions import Error as EscposError
from escpos.printer import File, Network, Serial, Usb

from devices.base import DeviceError, DeviceStatus, Health
from devices.printer.layout import ticket_bytes
from devices.printer.profile import PrinterProfile
from devices.printer.status import ASK_ONLINE, ASK_PAPER, status_from_replies
from devices.printer.ticket import TicketPrint

# What a broken transport raises: sockets, pyserial and pyusb errors are all OSError.
TRANSPORT_ERRORS = (OSError, EscposError, ValueError)


class Printer(Protocol):
    """A ticket printer the kiosk agent drives."""

    def print_ticket(self, ticket: TicketPrint) -> None:
        """Print one ticket; raise DeviceError with a sentence when it cannot."""
        ...

    def status(self) -> DeviceStatus:
        """Ask the printer how it is; no answer is UNKNOWN, never OK."""
        ...

    def close(self) -> None:
        """Release the connection; the next call opens it again."""
        ...


class EscposPrinter:
    """Print and ask status through one python-escpos connection."""

    keep_open = True  # False: open a connection for each job (network printers drop idle ones)

    def __init__(self, profile: PrinterProfile, *, status_timeout_s: float = 1.0) -> None:
        """Remember the profile; nothing is opened until the first job or status query."""
        self.profile = profile
        self.status_timeout_s = status_timeout_s
        self._conn: Any = None
        self._lock = threading.Lock()  # the agent polls status while a ticket may be printing

    # Transport specifics -------------------------------------------------------------
    def where(self) -> str:
        """Return where the printer is, for messages."""
        raise NotImplementedError

    def _connection(self) -> Any:
        """Return an unopened python-escpos printer object."""
        raise NotImplementedError

    def _discard_input(self, conn: Any) -> None:
        """Drop answers nobody asked for (printers may answer DLE EOT found in image data)."""

    def _read_reply(self, conn: Any) -> bytes:
        """Return what the printer answered within the status timeout, b"" if nothing."""
        raise DeviceError(f"{self.where()} 不能回读状态 / cannot read status")

    # Shared ---------------------------------------------------------------------------
    def _open(self) -> Any:
        if self._conn is None:
            conn = self._connection()
            conn.open()
            self._conn = conn
        return self._conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(*TRANSPORT_ERRORS):  # already broken: nothing to release
                conn.close()

    def _done(self) -> None:
        if not self.keep_open:
            self._drop()

    def _query(self, conn: Any, command: bytes) -> int | None:
        self._discard_input(conn)
        conn._raw(command)
        reply = self._read_reply(conn)
        return reply[-1] if reply else None

    def print_ticket(self, ticket: TicketPrint) -> None:
        """Send the ticket; raise DeviceError with a sentence when the transport fails."""
        data = ticket_bytes(ticket, self.profile)
        with self._lock:
            try:
                conn = self._open()
                conn._raw(data)
                self._discard_input(conn)
            except TRANSPORT_ERRORS as exc:
                self._drop()
                raise DeviceError(
                    f"打印 {ticket.number} 失败：{self.where()} 连接出错 / "
                    f"printing {ticket.number} failed on {self.where()}: {exc}"
                ) from exc
            self._done()

    def status(self) -> DeviceStatus:
        """Ask DLE EOT 1 and 4; a connection that cannot open is a fault, silence UNKNOWN."""
        with self._lock:
            try:
                conn = self._open()
                online = self._query(conn, ASK_ONLINE)
                paper = self._query(conn, ASK_PAPER) if online is not None else None
            except (*TRANSPORT_ERRORS, DeviceError) as exc:
                self._drop()
                return DeviceStatus(
                    Health.FAULT,
                    False,
                    {"connection": "failed"},
                    f"打印机无法连接：{self.where()} / Printer unreachable: {exc}",
                )
            self._done()
        return status_from_replies(online, paper)

    def close(self) -> None:
        """Release the connection."""
        with self._lock:
            self._drop()


class _Network(Network):  # type: ignore[misc]
    """python-escpos Network that closes its socket when the connection fails."""

    def open(self, raise_not_found: bool = True) -> None:
        """Connect, leaking no socket when the printer is unreachable (kiosks poll forever)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect((self.host, self.port))
        except OSError:
            sock.close()
            raise
        self.device = sock


class NetworkPrinter(EscposPrinter):
    """A printer on the hall LAN, raw TCP (port 9100)."""

    keep_open = False

    def __init__(
        self,
        profile: PrinterProfile,
        *,
        host: str,
        port: int = 9100,
        timeout_s: float = 5.0,
        status_timeout_s: float = 1.0,
    ) -> None:
        """Remember the address; connect per job so an idle drop never loses a ticket."""
        super().__init__(profile, status_timeout_s=status_timeout_s)
        self.host, self.port, self.timeout_s = host, port, timeout_s

    def where(self) -> str:
        """Return host:port."""
        return f"{self.host}:{self.port}"

    def _connection(self) -> Any:
        return _Network(self.host, port=self.port, timeout=self.timeout_s)

    def _discard_input(self, conn: Any) -> None:
        sock: socket.socket = conn.device
        sock.setblocking(False)
        try:
            while True:
                if not sock.recv(256):
                    raise ConnectionError("the printer closed the connection")
        except BlockingIOError:
            pass
        finally:
            sock.settimeout(self.timeout_s)

    def _read_reply(self, conn: Any) -> bytes:
        sock: socket.socket = conn.device
        sock.settimeout(self.status_timeout_s)
        try:
            reply = sock.recv(16)
        except TimeoutError:
            return b""
        finally:
            sock.settimeout(self.timeout_s)
        if not reply:
            raise ConnectionError("the printer closed the connection")
        return reply


class _UrlSerial(Serial):  # type: ignore[misc]
    """python-escpos Serial that opens pyserial URLs (socket://, rfc2217://, loop://) too."""

    def open(self, raise_not_found: bool = True) -> None:
        """Open the port with serial_for_url."""
        self.device = serial.serial_for_url(
            self.devfile,
            baudrate=self.baudrate,
            timeout=self.timeout,
            dsrdtr=self.dsrdtr,
            xonxoff=self.xonxoff,
        )


class SerialPrinter(EscposPrinter):
    """A printer on a serial port or pyserial URL."""

    def __init__(
        self,
        profile: PrinterProfile,
        *,
        url: str,
        baudrate: int = 9600,
        status_timeout_s: float = 1.0,
    ) -> None:
        """Remember the port; it is opened on first use."""
        super().__init__(profile, status_timeout_s=status_timeout_s)
        self.url, self.baudrate = url, baudrate

    def where(self) -> str:
        """Return the port."""
        return self.url

    def _connection(self) -> Any:
        return _UrlSerial(self.url, baudrate=self.baudrate, timeout=self.status_timeout_s)

    def _discard_input(self, conn: Any) -> None:
        conn.device.reset_input_buffer()

    def _read_reply(self, conn: Any) -> bytes:
        conn.device.timeout = self.status_timeout_s
        return bytes(conn.device.read(1))


class UsbPrinter(EscposPrinter):
    """A printer on USB, found by vendor and product id (needs pyusb)."""

    def __init__(
        self,
        profile: PrinterProfile,
        *,
        vendor_id: int,
        product_id: int,
        status_timeout_s: float = 1.0,
    ) -> None:
        """Remember the ids; the device is looked up on first use."""
        super().__init__(profile, status_timeout_s=status_timeout_s)
        self.vendor_id, self.product_id = vendor_id, product_id

    def where(self) -> str:
        """Return the USB ids."""
        return f"USB {self.vendor_id:04x}:{self.product_id:04x}"

    def _connection(self) -> Any:
        if not Usb.is_usable():
            raise DeviceError("USB 打印机需要 pyusb：pip install pyusb / USB printing needs pyusb")
        return Usb(self.vendor_id, self.product_id, timeout=int(self.status_timeout_s * 1000))

    def _read_reply(self, conn: Any) -> bytes:
        import usb.core  # present whenever Usb.is_usable() let the connection open

        try:
            reply = conn.device.read(conn.in_ep, 16, int(self.status_timeout_s * 1000))
        except usb.core.USBTimeoutError:
            return b""
        return bytes(reply)


class FilePrinter(EscposPrinter):
    """A printer behind a device file such as /dev/usb/lp0: prints, cannot answer status."""

    def __init__(self, profile: PrinterProfile, *, path: str) -> None:
        """Remember the file; it is opened on first use."""
        super().__init__(profile)
        self.path = path

    def where(self) -> str:
        """Return the file."""
        return self.path

    def _connection(self) -> Any:
        return File(self.path)

    def status(self) -> DeviceStatus:
        """Report UNKNOWN: a write-only file carries no answer back."""
        return DeviceStatus(
            Health.UNKNOWN,
            None,
            {"paper": "unknown"},
            f"{self.path} 只能写入，无法查询打印机状态 / {self.path} cannot report status",
        )
