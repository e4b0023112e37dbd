"""The display settings endpoint and the call announcement WAV, through the Flask test client."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest

import display.web
from display.voice.clips import clip_sequence
from display.voice.wavfile import read_wav
from tests.display.halls import DISPLAYS, QUIET_VOICE, display_hall
from tests.hall_server.hall import HallRig, build_hall
from tests.needs import need_program


def make_rig(folder: Path) -> HallRig:
    config = display_hall(folder, QUIET_VOICE, DISPLAYS)
    return build_hall(f"sqlite:///{folder / 'hall.db'}", folder / "var", config_path=config)


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HallRig]:
    """One hall for the tests that only read (building a hall takes a few seconds)."""
    hall = make_rig(tmp_path_factory.mktemp("display-api"))
    yield hall
    hall.ctx.db.dispose()


@pytest.fixture
def fresh_rig(tmp_path: Path) -> Iterator[HallRig]:
    """A hall of its own, with no voice clip bank yet."""
    hall = make_rig(tmp_path)
    yield hall
    hall.ctx.db.dispose()


def test_each_display_gets_the_windows_and_services_of_its_layout(rig: HallRig) -> None:
    everything = rig.get("tv-1", "/display/config").get_json()
    assert everything["device"] == "tv-1" and everything["layout"] == "all"
    assert everything["windows"] == [1, 2, 3, 4] and everything["services"] == ["a", "b", "c"]
    assert everything["hall"]["name"] == "测试大厅"
    assert everything["timezone"] == "Asia/Shanghai"
    assert everything["voice"]["repeat"] == 1 and everything["voice"]["chime"] is False

    zone = rig.get("tv-zone-b", "/display/config").get_json()
    assert (zone["windows"], zone["services"]) == ([3], ["b"])
    floor = rig.get("tv-floor-2", "/display/config").get_json()
    assert (floor["windows"], floor["services"]) == ([3, 4], ["b", "c"])
    # Floors named with calls: the floor-2 TV names floor 1 only; tv-1 (on no floor) every one.
    assert floor["window_floors"] == {"1": 1, "2": 1, "3": None, "4": None}
    assert everything["window_floors"] == {"1": 1, "2": 1, "3": 2, "4": 2}


def test_a_supervisor_may_preview_a_display_but_not_read_its_device_options(rig: HallRig) -> None:
    answer = rig.get("boss", "/display/config?device=tv-zone-b")
    assert answer.status_code == 200
    assert answer.get_json()["windows"] == [3]
    assert answer.get_json()["options"] == {}


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        ("tv-1", "/display/config?device=tv-zone-b", 403),  # another display's page
        ("kiosk-1", "/display/config", 403),
        ("staff1", "/display/config?device=tv-1", 403),
        ("boss", "/display/config", 422),
        ("boss", "/display/config?device=nobody", 404),
        ("tv-1", "/display/voice?number=A0%2012&window=3", 422),
        ("tv-1", "/display/voice?number=A012&window=99", 422),
        ("tv-1", "/display/voice?number=A012&window=3&floor=1", 422),  # window 3 is on 2
        ("kiosk-1", "/display/voice?number=A012&window=3", 403),
    ],
)
def test_refusals_name_the_problem(rig: HallRig, who: str, path: str, status: int) -> None:
    answer = rig.get(who, path)
    assert answer.status_code == status
    assert answer.get_json()["error"]["message"]


def test_voice_is_reported_off_and_refused_clearly_without_espeak_ng(
    fresh_rig: HallRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = fresh_rig
    monkeypatch.setattr(display.web.shutil, "which", lambda name: None)
    monkeypatch.setattr("display.voice.bank.shutil.which", lambda name: None)
    voice = rig.get("tv-1", "/display/config").get_json()["voice"]
    assert voice["enabled"] is False
    assert "espeak-ng" in voice["message"]

    answer = rig.get("tv-1", "/display/voice?number=B001&window=3")
    assert answer.status_code == 503
    assert answer.get_json()["error"]["code"] == "voice_unavailable"


@pytest.mark.espeak
def test_the_call_wav_is_joined_from_the_bank_made_on_first_use(fresh_rig: HallRig) -> None:
    rig = fresh_rig
    need_program("espeak-ng")
    answer = rig.get("tv-1", "/display/voice?number=b012&window=3")
    assert answer.status_code == 200
    assert answer.mimetype == "audio/wav"
    pcm = read_wav(answer.data)
    with wave.open(BytesIO(answer.data)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
        seconds = wav.getnframes() / wav.getframerate()
    assert pcm.frame_count > 0
    # One reading ("请 B零一二 号到 三 号窗口办理"), no chime: a few seconds, not more.
    assert len(clip_sequence("B012", 3, chime=False, repeat=1)) == 11
    assert 2.0 < seconds < 8.0
    bank = rig.app.extensions["hall"].settings.server.var_path / "voice"
    assert (bank / "manifest.json").is_file()
    assert rig.get("tv-1", "/display/voice?number=B012&window=3").data == answer.data
    upstairs = rig.get("tv-1", "/display/voice?number=B012&window=3&floor=2")
    assert upstairs.status_code == 200
    assert read_wav(upstairs.data).frame_count > pcm.frame_count  # "... 到 二 楼 三 号窗口 ..."
    config = rig.get("tv-1", "/display/config").get_json()
    assert config["voice"]["enabled"] is True


def test_while_the_database_does_not_answer_the_tv_page_still_loads_from_the_last_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A TV restarted during a database outage gets its page (which then says it is offline),
    not an error: the page is drawn from the last layout this process read."""
    from sqlalchemy.exc import OperationalError

    hall = make_rig(tmp_path)
    try:
        assert hall.client.get("/display/tv-1").status_code == 200

        def gone() -> None:
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError("the database is down"))

        monkeypatch.setattr(hall.ctx.db, "read", gone)
        page = hall.client.get("/display/tv-1")
        assert page.status_code == 200
        assert "测试大厅" in page.get_data(as_text=True)
    finally:
        monkeypatch.undo()
        hall.ctx.db.dispose()
