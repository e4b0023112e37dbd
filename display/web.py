"""The hall TV page (/display/<device>), its settings endpoint and the call announcement WAV.

- ``GET /display/<device>`` — the page; the device's token comes once as ``?token=``.
- ``GET /api/v1/display/config`` — what the calling display shows: its layout (all, one
  zone, one floor), the windows and services in scope, voice on/off, the server's time.
- ``GET /api/v1/display/voice?number=A012&window=3[&floor=2][&form=once]`` — one WAV per call,
  joined from the clip bank under ``var/voice/`` (made with espeak-ng on first use) and
  cached; ``form`` is ``full`` (default: chime + phrase ``repeat`` times), ``once`` or
  ``brief`` (display/voice/announce.py). ``GET /api/v1/display/voice/chime``: the chime alone.
"""

from __future__ import annotations

import re
import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from display.scope import display_scope, floor_to_say, voice_windows
from display.voice import Announcer, VoiceError
from display.voice.announce import FORMS
from display.voice.bank import ESPEAK, MANIFEST
from hall_server.api.common import actor, hall
from hall_server.domain.errors import DomainError, Forbidden, InvalidInput, NotFound
from hall_server.services.context import Layout
from hall_server.services.devices import find_device

HERE = Path(__file__).resolve().parent
VOICE_DIR = "voice"
RECENT_CALLS = 6  # rows of "last calls" on the page unless the device's options say otherwise
STALE_S = 90  # a call older than this when its turn comes is shown, not announced
VOICE_WITHIN_S = 40  # a backlog that would voice a call later than this is read in brief
DEFAULT_TEMPLATE = "请{number}号到{floor}{window}号窗口办理"  # {floor} is "2楼" or empty
TICKET_NUMBER = re.compile(r"^[A-Z]{0,3}[0-9]{1,6}$")

pages = Blueprint(
    "display",
    __name__,
    template_folder=str(HERE / "templates"),
    static_folder=str(HERE / "static"),
    static_url_path="/display/static",
)
display_api = Blueprint("display_api", __name__, url_prefix="/api/v1")


class VoiceUnavailable(DomainError):
    """The clip bank cannot be made or read (HTTP 503 on the voice endpoint)."""

    code = "voice_unavailable"


@pages.get("/display/<device>")
def tv_page(device: str) -> Any:
    layout = hall().ctx.current_layout()
    return render_template("display/tv.html", device=device, hall=layout)


@display_api.get("/display/config")
def config() -> Any:
    """Return what the calling display (or, for a supervisor, ``?device=``) shows."""
    who = actor("supervisor", "device:display", "device:agent")
    wanted = request.args.get("device", "").strip()
    name = who.name if who.kind == "device" else wanted
    if who.kind == "device" and wanted and wanted != who.name:
        raise Forbidden(
            f"此令牌属于设备 {who.name}，不是 {wanted} "
            f"(this token belongs to device {who.name}, not {wanted})."
        )
    if not name:
        raise InvalidInput("请指定显示屏 (give ?device=<name>).")
    found = find_device(hall().ctx, name)
    if found is None or found.revoked:
        raise NotFound(f"没有设备 {name} (no device {name}).")
    device = {
        "name": found.name,
        "kind": found.kind,
        "layout": found.layout,
        "zone": found.zone,
        "floor": found.floor,
        "windows": list(found.windows),
        "options": found.options,
    }
    return jsonify(display_settings(device, is_device=who.kind == "device"))


def display_settings(device: dict[str, Any], *, is_device: bool) -> dict[str, Any]:
    """Build the settings answer for one device row (as a dict), from the layout as the
    database has it (an admin's change made through another server process included)."""
    layout = hall().ctx.current_layout()
    scope = display_scope(
        device["layout"],
        device["zone"],
        device["floor"],
        layout.windows.items(),
        layout.services.items(),
        bound_windows=device["windows"],
    )
    options = device["options"]
    enabled, message = voice_available(_bank_dir())
    if options.get("voice") is False:
        enabled, message = False, "本屏未开启语音播报 / voice is switched off for this display"
    voice = layout.voice
    return {
        "device": device["name"],
        "kind": device["kind"],
        "layout": scope.layout,
        "zone": scope.zone,
        "floor": scope.floor,
        "title": scope.title,
        "windows": list(scope.windows),
        "window_names": {str(n): layout.windows[n].name for n in scope.windows},
        # The floor a call to each window is shown and announced with (null: not named).
        "window_floors": window_floors(layout, device["floor"]),
        "services": list(scope.services),
        "hall": {"code": layout.code, "name": layout.name, "name_en": layout.name_en},
        "timezone": layout.tz.key,
        "recent_calls": int(options.get("recent_calls", RECENT_CALLS)),
        "voice": {
            "enabled": enabled,
            "message": message,
            "repeat": int(voice.get("repeat", 2)),
            "chime": bool(voice.get("chime", True)),
            "template": str(voice.get("template", DEFAULT_TEMPLATE)),
            "stale_s": int(options.get("stale_s", STALE_S)),
            # How the TV plans a rush (display/static/announce.js, docs/DISPLAY.md).
            "windows": list(voice_windows(options.get("announce"), scope, layout.windows.items())),
            "within_s": int(options.get("voice_within_s", VOICE_WITHIN_S)),
            "repeat_gap_ms": announcer().repeat_gap_ms,
            "mode": str(options.get("announce_mode", "plan")),
        },
        # The device's own options (LED signs, audio) go to the device itself only.
        "options": options if is_device else {},
        "server_time": datetime.now(UTC).isoformat(),
    }


def window_floors(layout: Layout, display_floor: int | None) -> dict[str, int | None]:
    """Return, for every window of the hall, the floor a call to it names (None: not named)."""
    windows = layout.windows
    floors = len({w.floor for w in windows.values()})
    return {str(n): floor_to_say(w.floor, display_floor, floors) for n, w in windows.items()}


def voice_available(bank_dir: Path) -> tuple[bool, str]:
    """Say whether calls can be announced: a bank on disk, or espeak-ng to make one."""
    if (bank_dir / MANIFEST).is_file():
        return True, "语音播报已开启 / voice on"
    if shutil.which(ESPEAK):
        return True, "语音播报已开启（首次叫号时生成语音） / voice on (clips made on first call)"
    return False, "未安装 espeak-ng，语音播报已关闭 / espeak-ng is not installed: voice off"


@display_api.get("/display/voice")
def voice() -> Any:
    """Return the WAV announcing one call."""
    actor("staff", "device:display", "device:agent")
    number = request.args.get("number", "").strip().upper()
    if not TICKET_NUMBER.match(number):
        raise InvalidInput(f"号码格式不对：{number!r} (number must look like A012).")
    raw = request.args.get("window", "")
    layout = hall().ctx.current_layout()  # a window added through another process too
    if not (raw.isascii() and raw.isdigit()) or int(raw) not in layout.windows:
        raise InvalidInput(f"没有这个窗口：{raw!r} (no such window).")
    floor_raw = request.args.get("floor", "")
    floor = None
    if floor_raw:
        if not (floor_raw.isascii() and floor_raw.isdigit()) or int(floor_raw) != (
            layout.windows[int(raw)].floor
        ):
            raise InvalidInput(
                f"窗口不在这一层：{floor_raw!r} (window {raw} is not on that floor)."
            )
        floor = int(floor_raw)
    form = request.args.get("form", "full")
    if form not in FORMS:
        raise InvalidInput(f"没有这种播报方式：{form!r} (form must be one of {', '.join(FORMS)}).")
    settings = layout.voice
    try:
        data = announcer().form_wav(
            form,
            number,
            int(raw),
            chime=bool(settings.get("chime", True)),
            repeat=int(settings.get("repeat", 2)),
            floor=floor,
        )
    except VoiceError as error:
        raise VoiceUnavailable(str(error)) from None
    return _wav_response(data)


@display_api.get("/display/voice/chime")
def voice_chime() -> Any:
    """Return the chime alone: a TV plays it once at the start of a batch of calls."""
    actor("staff", "device:display", "device:agent")
    try:
        data = announcer().chime_wav()
    except VoiceError as error:
        raise VoiceUnavailable(str(error)) from None
    return _wav_response(data)


def _wav_response(data: bytes) -> Any:
    response = Response(data, mimetype="audio/wav")
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@display_api.errorhandler(VoiceUnavailable)
def _voice_unavailable(error: VoiceUnavailable) -> Any:
    return jsonify({"error": {"code": error.code, "message": error.message}}), 503


_announcer_lock = threading.Lock()


def _bank_dir() -> Path:
    return Path(hall().settings.server.var_path) / VOICE_DIR


def announcer() -> Announcer:
    """Return this app's announcer (one per app; it keeps the joined WAVs cached)."""
    extensions = current_app.extensions
    with _announcer_lock:
        if "display_announcer" not in extensions:
            extensions["display_announcer"] = Announcer(_bank_dir())
        found: Announcer = extensions["display_announcer"]
    return found
