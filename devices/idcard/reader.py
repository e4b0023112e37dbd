"""ID-card readers (身份证阅读器): the interface, the serial SAM adapter and the shipped fake."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn, Protocol

import serial

from devices.base import DeviceError, DeviceStatus, Health
from devices.idcard import sam
from devices.idcard.card import IdCard, birth_date_of, sex_of, validate_id_number
from devices.serial_port import SerialPort

DEFAULT_BAUDRATE = 115200
POLL_INTERVAL_S = 0.3
ANSWER_TIMEOUT_S = 1.0
# A fixed read timeout: changing it per call would reconfigure a real UART every time.
READ_SLICE_S = 0.05


class IdCardReader(Protocol):
    """A reader at the kiosk: hands over the card placed on it."""

    def read(self, timeout_s: float) -> IdCard | None:
        """Return the card placed on the reader within ``timeout_s``, else None."""
        ...

    def status(self) -> DeviceStatus:
        """Report whether the reader answers."""
        ...

    def close(self) -> None:
        """Release the port."""
        ...


class FakeIdCardReader:
    """A reader in memory that hands out queued cards, one per ``read``."""

    def __init__(self, cards: Iterable[IdCard] = ()) -> None:
        """Queue ``cards`` to be read in order."""
        self._cards: deque[IdCard] = deque(cards)
        self._ready = threading.Condition()
        self.closed = False

    def insert(self, card: IdCard) -> None:
        """Place ``card`` on the reader; a waiting ``read`` returns it."""
        with self._ready:
            self._cards.append(card)
            self._ready.notify_all()

    def read(self, timeout_s: float) -> IdCard | None:
        """Return the next queued card, waiting up to ``timeout_s`` for one."""
        with self._ready:
            if self.closed:
                raise DeviceError("身份证阅读器已关闭。The ID-card reader has been closed.")
            self._ready.wait_for(lambda: bool(self._cards) or self.closed, max(0.0, timeout_s))
            return self._cards.popleft() if self._cards else None

    def status(self) -> DeviceStatus:
        """Report the fake as online, or offline once closed."""
        if self.closed:
            return DeviceStatus(Health.FAULT, False, message="身份证阅读器已关闭 / reader closed")
        return DeviceStatus(Health.OK, True, message="模拟身份证阅读器 / fake ID-card reader")

    def close(self) -> None:
        """Close the fake; a waiting ``read`` returns None."""
        with self._ready:
            self.closed = True
            self._ready.notify_all()


class SerialIdCardReader:
    """A reader speaking the SAM frame protocol on a pyserial URL; reopens after a failure."""

    def __init__(
        self,
        url: str,
        *,
        baudrate: int = DEFAULT_BAUDRATE,
        poll_interval_s: float = POLL_INTERVAL_S,
        answer_timeout_s: float = ANSWER_TIMEOUT_S,
    ) -> None:
        """Use the reader on port ``url`` (opened on first use)."""
        self.url = url
        self.baudrate = baudrate
        self.poll_interval_s = poll_interval_s
        self.answer_timeout_s = answer_timeout_s
        self.last_answer: str = ""  # meaning of the last unexpected SW3, for status
        self._link = SerialPort(
            url, baudrate=baudrate, timeout_s=READ_SLICE_S,
            what_zh="身份证阅读器串口", what_en="ID-card reader port",
        )  # fmt: skip
        self._lock = threading.Lock()
        self._closing = threading.Event()

    def read(self, timeout_s: float) -> IdCard | None:
        """Poll for a card until ``timeout_s`` passes; return it read and checked, or None."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        while True:
            with self._lock:
                card = self._try_once()
            if card is not None:
                return card
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._closing.wait(min(self.poll_interval_s, remaining)):
                return None

    def _try_once(self) -> IdCard | None:
        found = self._ask(sam.FIND_CARD)
        if found.sw3 != sam.SW3_CARD_FOUND:
            if found.sw3 != sam.SW3_NO_CARD:
                self.last_answer = found.meaning
            return None
        selected = self._ask(sam.SELECT_CARD)
        if selected.sw3 != sam.SW3_OK:
            self.last_answer = selected.meaning
            return None
        answer = self._ask(sam.READ_BASE)
        if answer.sw3 != sam.SW3_OK:
            self.last_answer = answer.meaning
            return None
        try:
            text, _photo = sam.split_base_data(answer.data)
            return sam.parse_text_block(text)
        except sam.SamError as exc:
            raise DeviceError(
                f"身份证信息无法使用，请重新放置证件：{exc}。"
                "The card could not be used; please place it again."
            ) from exc

    def _open(self) -> Any:
        return self._link.open()

    def _fail(self, exc: BaseException, zh: str, en: str) -> NoReturn:
        self._link.fail(exc, zh, en)

    def _drop_port(self) -> None:
        self._link.close()

    def _ask(self, command: bytes) -> sam.SamResponse:
        """Send one command and wait for its answer; no answer is an error."""
        port = self._open()
        buffer = b""
        try:
            port.reset_input_buffer()  # a late answer to an earlier command is stale
            port.write(command)
            port.flush()
            deadline = time.monotonic() + self.answer_timeout_s
            while time.monotonic() < deadline:
                chunk = port.read(1)
                if chunk:
                    buffer += bytes(chunk) + bytes(port.read(port.in_waiting or 0))
                    response, buffer = sam.decode_response(buffer)
                    if response is not None:
                        return response
        except (serial.SerialException, OSError) as exc:
            self._fail(exc, "通信失败", "failed")
        except sam.SamError as exc:
            raise DeviceError(f"身份证阅读器应答有误：{exc}") from exc
        self._link.last_error = "no answer"
        raise DeviceError(
            f"身份证阅读器（{self.url}）{self.answer_timeout_s:g} 秒内无应答。"
            f"The ID-card reader on {self.url} did not answer within {self.answer_timeout_s:g} s."
        )

    def status(self) -> DeviceStatus:
        """Ask the reader's SAM module for its state; no answer is unknown, not OK."""
        detail = {"url": self.url}
        try:
            with self._lock:
                answer = self._ask(sam.SAM_STATUS)
        except DeviceError as exc:
            online = None if self._link.is_open else False
            health = Health.UNKNOWN if online is None else Health.FAULT
            return DeviceStatus(health, online, detail, str(exc))
        if answer.sw3 != sam.SW3_OK:
            detail["sam"] = f"0x{answer.sw3:02X}"
            return DeviceStatus(Health.FAULT, True, detail, f"身份证阅读器故障：{answer.meaning}。")
        if self.last_answer:
            detail["last_card_answer"] = self.last_answer
        return DeviceStatus(Health.OK, True, detail, "身份证阅读器正常。ID-card reader ready.")

    def close(self) -> None:
        """Stop a waiting ``read`` and close the port."""
        self._closing.set()
        with self._lock:
            self._drop_port()


_FAKE_OPTIONS = frozenset({"type", "cards"})
_SERIAL_OPTIONS = frozenset({"type", "url", "baudrate", "poll_interval_s", "answer_timeout_s"})
_CARD_KEYS = frozenset({"name", "id_number", "address", "nation"})


def card_from_mapping(values: Mapping[str, Any]) -> IdCard:
    """Return a fake card from config; birth date and sex come from its ID number."""
    for key in values:
        if key not in _CARD_KEYS:
            raise DeviceError(
                f"模拟身份证配置项 {key!r} 不认识。Unknown fake ID card field {key!r}; "
                f"known: {', '.join(sorted(_CARD_KEYS))}."
            )
    try:
        number = validate_id_number(str(values["id_number"]))
    except KeyError:
        raise DeviceError("模拟身份证缺少 id_number。A fake ID card needs 'id_number'.") from None
    except ValueError as exc:
        raise DeviceError(f"模拟身份证号码无效：{exc}") from exc
    return IdCard(
        name=str(values.get("name", "")),
        id_number=number,
        birth_date=birth_date_of(number),
        sex=sex_of(number),
        address=values.get("address"),
        nation=values.get("nation"),
    )


def build_id_reader(options: Mapping[str, Any]) -> IdCardReader:
    """Build the reader ``options`` describe: ``{"type": "fake"}`` or a serial one."""
    kind = options.get("type")
    allowed = {"fake": _FAKE_OPTIONS, "serial": _SERIAL_OPTIONS}.get(str(kind))
    if allowed is None:
        raise DeviceError(
            f"未知身份证阅读器类型 {kind!r}（可用 fake、serial）。"
            f"Unknown ID-card reader type {kind!r}: use fake or serial."
        )
    for key in options:
        if key not in allowed:
            raise DeviceError(
                f"身份证阅读器配置项 {key!r} 不认识。Unknown ID-card reader option {key!r} "
                f"for type {kind}; known: {', '.join(sorted(allowed))}."
            )
    if kind == "fake":
        return FakeIdCardReader(card_from_mapping(card) for card in options.get("cards", ()))
    url = options.get("url")
    if not isinstance(url, str) or not url:
        raise DeviceError(
            "串口身份证阅读器需要 url 配置项。A serial reader needs the option 'url'."
        )
    baudrate = options.get("baudrate", DEFAULT_BAUDRATE)
    if isinstance(baudrate, bool) or not isinstance(baudrate, int):
        raise DeviceError(
            f"身份证阅读器配置项 'baudrate' 须为整数，现为 {baudrate!r}。"
            "ID-card reader option 'baudrate' must be an integer."
        )
    return SerialIdCardReader(
        url,
        baudrate=baudrate,
        poll_interval_s=_seconds(options, "poll_interval_s", POLL_INTERVAL_S),
        answer_timeout_s=_seconds(options, "answer_timeout_s", ANSWER_TIMEOUT_S),
    )


def _seconds(options: Mapping[str, Any], key: str, default: float) -> float:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise DeviceError(
            f"身份证阅读器配置项 {key!r} 须为正数（秒），现为 {value!r}。"
            f"ID-card reader option {key!r} must be a positive number of seconds."
        )
    return float(value)
