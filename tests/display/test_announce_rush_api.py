"""What a display's speaker reads (its zone or floor) and the WAV forms over HTTP (no browser)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from display.scope import display_scope, voice_windows
from display.voice.wavfile import read_wav
from tests.display.halls import DISPLAYS, QUIET_VOICE, display_hall
from tests.display.test_scope_and_content import SERVICES, WINDOWS
from tests.display.voice.test_announce import make_bank
from tests.hall_server.hall import HallRig, build_hall

DOOR = """
[[hall.devices]]
name = "tv-door"
kind = "display"
floor = 1
layout = "all"
[hall.devices.options]
announce = "floor"
voice_within_s = 30
"""


@pytest.mark.parametrize(
    ("layout", "zone", "floor", "announce", "voiced"),
    [
        ("all", "", None, None, (1, 2, 3, 4)),  # a display with no zone or floor reads all
        ("all", "", 1, "floor", (1, 2)),  # the door TV shows all, reads its floor
        ("all", "A区", 1, "zone", (1, 2)),
        ("zone", "B区", None, None, (3,)),
        ("floor", "", 2, None, (3, 4)),
        ("all", "", None, "floor", (1, 2, 3, 4)),  # no floor to narrow to: all it shows
        ("floor", "", 2, "zone", (3, 4)),  # no zone: all it shows
    ],
)
def test_a_speaker_reads_the_calls_of_its_zone_or_floor(
    layout: str, zone: str, floor: int | None, announce: str | None, voiced: tuple[int, ...]
) -> None:
    scope = display_scope(layout, zone, floor, WINDOWS, SERVICES)
    assert voice_windows(announce, scope, WINDOWS) == voiced


def test_an_unknown_announce_choice_is_refused() -> None:
    scope = display_scope("all", "", None, WINDOWS, SERVICES)
    with pytest.raises(ValueError, match="announce must be one of"):
        voice_windows("room", scope, WINDOWS)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[HallRig]:
    config = display_hall(tmp_path, QUIET_VOICE, DISPLAYS, DOOR)
    hall = build_hall(f"sqlite:///{tmp_path / 'hall.db'}", tmp_path / "var", config_path=config)
    bank = hall.app.extensions["hall"].settings.server.var_path / "voice"
    bank.mkdir(parents=True)
    make_bank(bank)  # a synthetic bank: no espeak-ng needed
    yield hall
    hall.ctx.db.dispose()


def test_each_display_is_told_which_calls_to_read_and_how_to_plan(rig: HallRig) -> None:
    door = rig.get("tv-door", "/display/config").get_json()
    assert door["windows"] == [1, 2, 3, 4]  # shows every window
    assert door["voice"]["windows"] == [1, 2]  # reads those of floor 1
    assert door["voice"]["within_s"] == 30 and door["voice"]["stale_s"] == 90
    assert door["voice"]["mode"] == "plan" and door["voice"]["repeat_gap_ms"] == 700
    upstairs = rig.get("tv-floor-2", "/display/config").get_json()
    assert upstairs["voice"]["windows"] == [3, 4] and upstairs["voice"]["within_s"] == 40


def test_the_voice_endpoint_answers_each_form_and_the_chime(rig: HallRig) -> None:
    lengths = {}
    for form in ("full", "once", "brief"):
        answer = rig.get("tv-1", f"/display/voice?number=B012&window=3&floor=2&form={form}")
        assert answer.status_code == 200 and answer.mimetype == "audio/wav"
        lengths[form] = read_wav(answer.data).frame_count
    # the hall's voice is one reading without chime (QUIET_VOICE): full is once here
    assert lengths["full"] == lengths["once"] > lengths["brief"]
    chime = rig.get("tv-1", "/display/voice/chime")
    assert chime.status_code == 200 and read_wav(chime.data).frame_count > 0

    wrong = rig.get("tv-1", "/display/voice?number=B012&window=3&form=twice")
    assert wrong.status_code == 422
    assert "没有这种播报方式" in wrong.get_json()["error"]["message"]
    assert rig.get("kiosk-1", "/display/voice/chime").status_code == 403
