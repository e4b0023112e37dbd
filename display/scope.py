"""Which windows and services one display shows: the whole hall, one zone or one floor.

Pure: the device's place and the hall's windows and services in, the numbers and codes a
screen should show out. The TV page and the display agent both filter calls with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

LAYOUTS = ("all", "zone", "floor")


class Placed(Protocol):
    """A window or service: something with a zone and a floor."""

    @property
    def zone(self) -> str:
        """The zone it is in (A区)."""
        ...

    @property
    def floor(self) -> int:
        """The floor it is on."""
        ...


@dataclass(frozen=True, slots=True)
class Scope:
    """What one display shows."""

    layout: str
    zone: str
    floor: int | None
    windows: tuple[int, ...]
    services: tuple[str, ...]

    @property
    def title(self) -> str:
        """Name the scope for the screen, Chinese first."""
        if self.layout == "zone":
            return f"{self.zone} / Zone {self.zone}"
        if self.layout == "floor":
            return f"{_floor_zh(self.floor)} / Floor {self.floor}"
        return "全部窗口 / All windows"


def floor_to_say(window_floor: int, display_floor: int | None, hall_floors: int) -> int | None:
    """Return the floor to show and say with a call to a window, or None to leave it out.

    A hall on one floor never names it. A display that knows its floor names the floor only
    for windows on another floor ("请D001号到2楼16号窗口办理"): the visitor standing there
    needs to go up or down. A display without a floor (a whole-hall screen at the door, a
    zone screen) names the floor of every window, since it cannot know which one is "here".
    """
    if hall_floors <= 1:
        return None
    if display_floor is not None and window_floor == display_floor:
        return None
    return window_floor


def _floor_zh(floor: int | None) -> str:
    names = "零一二三四五六七八九十"
    if floor is not None and 0 < floor <= 10:
        return f"{names[floor]}楼"
    return f"{floor}楼"


def _in_scope(item: Placed, layout: str, zone: str, floor: int | None) -> bool:
    if layout == "zone":
        return item.zone == zone
    if layout == "floor":
        return item.floor == floor
    return True


def display_scope(
    layout: str,
    zone: str,
    floor: int | None,
    windows: Iterable[tuple[int, Placed]],
    services: Iterable[tuple[str, Placed]],
    *,
    bound_windows: Iterable[int] = (),
) -> Scope:
    """Return the windows and services a display at this place shows.

    A device bound to windows (an LED agent above windows 1-13) shows exactly those.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    bound = sorted(set(bound_windows))
    ordered = sorted(windows, key=lambda pair: pair[0])
    if bound:
        chosen = tuple(n for n, _ in ordered if n in bound)
    else:
        chosen = tuple(n for n, w in ordered if _in_scope(w, layout, zone, floor))
    codes = tuple(code for code, s in services if _in_scope(s, layout, zone, floor))
    return Scope(layout=layout, zone=zone, floor=floor, windows=chosen, services=codes)


def voice_windows(
    announce: str | None,
    scope: Scope,
    windows: Iterable[tuple[int, Placed]],
) -> tuple[int, ...]:
    """Return the windows of ``scope`` whose calls this display reads out (its speaker).

    ``announce`` ("all", "zone", "floor"; None: the display's own layout) narrows the voice
    below what the screen shows: the entrance TV shows the whole hall but its speaker reads
    only the calls of its floor, while the TV upstairs reads the rest. A display with no
    zone (or no floor) for that choice reads every call it shows.
    """
    chosen = announce or scope.layout
    if chosen not in LAYOUTS:
        raise ValueError(f"announce must be one of {', '.join(LAYOUTS)}, got {chosen!r}")
    if (chosen == "zone" and not scope.zone) or (chosen == "floor" and scope.floor is None):
        chosen = "all"
    shown = set(scope.windows)
    return tuple(
        n
        for n, w in sorted(windows, key=lambda pair: pair[0])
        if n in shown and _in_scope(w, chosen, scope.zone, scope.floor)
    )
