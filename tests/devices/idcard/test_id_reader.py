"""ID-card readers as the kiosk agent sees them: the fake, the factory, a SAM reader on a pty."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import date

import pytest

from devices.base import DeviceError, Health
from devices.idcard import FakeIdCardReader, IdCard, SerialIdCardReader, build_id_reader, sam
from tests.support.pty import PtyPeer

CARD = IdCard(name="李四", id_number="11010519491231002X", birth_date=date(1949, 12, 31), sex="女")


def test_fake_reader_hands_out_queued_cards_then_nothing() -> None:
    reader = FakeIdCardReader([CARD])
    assert reader.read(0) == CARD
    assert reader.read(0) is None
    assert reader.status().health is Health.OK


def test_fake_reader_wakes_a_waiting_kiosk_when_a_card_is_placed() -> None:
    reader = FakeIdCardReader()
    got: list[IdCard | None] = []
    kiosk = threading.Thread(target=lambda: got.append(reader.read(30)))
    kiosk.start()
    reader.insert(CARD)
    kiosk.join(10)
    assert got == [CARD]


def test_factory_builds_a_fake_with_demo_cards_from_config() -> None:
    reader = build_id_reader(
        {"type": "fake", "cards": [{"name": "王五", "id_number": "440524188001010014"}]}
    )
    card = reader.read(0)
    assert card is not None
    assert (card.name, card.birth_date, card.sex) == ("王五", date(1880, 1, 1), "男")


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"type": "fake", "port": 1}, "'port'"),
        ({"type": "serial"}, "'url'"),
        ({"type": "nfc"}, "'nfc'"),
        ({"type": "serial", "url": "loop://", "poll_interval_s": 0}, "'poll_interval_s'"),
        ({"type": "fake", "cards": [{"id_number": "110101199003071234"}]}, "check character"),
        ({"type": "fake", "cards": [{"id_number": "11010519491231002X", "age": 3}]}, "'age'"),
    ],
)
def test_factory_refuses_bad_options_naming_them(options: dict, named: str) -> None:
    with pytest.raises(DeviceError, match=named):
        build_id_reader(options)


Answer = Callable[[bytes], bytes | None]


class SimulatedReader(PtyPeer):
    """A SAM reader on the master side of a pty: answers each command with ``answer``."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.commands: list[bytes] = []
        super().__init__(self._commands_in)
        self.url = self.path

    def _commands_in(self, buffer: bytes) -> bytes:
        while len(buffer) >= 10:  # every command the adapter sends is 10 bytes
            command, buffer = buffer[:10], buffer[10:]
            self.commands.append(command)
            reply = self.answer(command)
            if reply is not None:
                self.write(reply)
        return buffer


def card_answer() -> bytes:
    block = sam.build_text_block(
        name="张三",
        sex_code="1",
        nation_code="01",
        birth="19900307",
        address="北京市东城区景山前街4号",
        id_number="110101199003071233",
        issuer="北京市公安局东城分局",
        valid_from="20150101",
        valid_until="长期",
    )
    return sam.encode_response(sam.SW3_OK, sam.build_base_data(block, b"\x00" * 1024))


def scripted(no_card_polls: int) -> Answer:
    polls = [0]

    def answer(command: bytes) -> bytes | None:
        if command == sam.SAM_STATUS:
            return sam.encode_response(sam.SW3_OK)
        if command == sam.FIND_CARD:
            polls[0] += 1
            if polls[0] <= no_card_polls:
                return sam.encode_response(sam.SW3_NO_CARD)
            return sam.encode_response(sam.SW3_CARD_FOUND, b"\x00" * 4)
        if command == sam.SELECT_CARD:
            return sam.encode_response(sam.SW3_OK, b"\x00" * 8)
        if command == sam.READ_BASE:
            return card_answer()
        return sam.encode_response(0x21)

    return answer


@pytest.fixture
def simulator(request: pytest.FixtureRequest) -> Iterator[SimulatedReader]:
    sim = SimulatedReader(request.param)
    yield sim
    sim.close()


def open_reader(sim: SimulatedReader, **options: float) -> SerialIdCardReader:
    reader = build_id_reader({"type": "serial", "url": sim.url, **options})
    assert isinstance(reader, SerialIdCardReader)
    return reader


@pytest.mark.parametrize("simulator", [scripted(no_card_polls=2)], indirect=True)
def test_serial_reader_polls_until_a_card_is_placed_and_reads_it(
    simulator: SimulatedReader,
) -> None:
    reader = open_reader(simulator, poll_interval_s=0.01)
    try:
        card = reader.read(10)
    finally:
        reader.close()
    assert card is not None
    assert card.id_number == "110101199003071233"
    assert (card.name, card.sex, card.nation) == ("张三", "男", "汉")
    assert card.valid_until is None  # 长期
    assert simulator.commands == [sam.FIND_CARD] * 3 + [sam.SELECT_CARD, sam.READ_BASE]


@pytest.mark.parametrize("simulator", [scripted(no_card_polls=10**6)], indirect=True)
def test_serial_reader_gives_none_when_no_card_comes(simulator: SimulatedReader) -> None:
    reader = open_reader(simulator, poll_interval_s=0.01)
    try:
        started = time.monotonic()
        assert reader.read(0.3) is None
        assert time.monotonic() - started < 5
        assert reader.status().health is Health.OK
    finally:
        reader.close()


@pytest.mark.parametrize("simulator", [lambda command: None], indirect=True)
def test_a_silent_reader_is_an_error_and_its_status_unknown(simulator: SimulatedReader) -> None:
    reader = open_reader(simulator, answer_timeout_s=0.2)
    try:
        with pytest.raises(DeviceError, match="did not answer"):
            reader.read(1)
        status = reader.status()
        assert (status.health, status.online) == (Health.UNKNOWN, None)
    finally:
        reader.close()


@pytest.mark.parametrize("simulator", [lambda command: sam.encode_response(0x47)], indirect=True)
def test_a_broken_sam_module_is_a_fault_with_its_meaning(simulator: SimulatedReader) -> None:
    reader = open_reader(simulator)
    try:
        status = reader.status()
    finally:
        reader.close()
    assert (status.health, status.online) == (Health.FAULT, True)
    assert "SAM" in status.message


def test_a_missing_port_is_a_fault_with_a_sentence() -> None:
    reader = build_id_reader({"type": "serial", "url": "/dev/ttyNO-SUCH-READER"})
    with pytest.raises(DeviceError, match="cannot be opened"):
        reader.read(0)
    status = reader.status()
    assert (status.health, status.online) == (Health.FAULT, False)
