"""Hall-wide cross-checks: what one item cannot check alone (uniqueness, references).

Each rule is one small function over plain, possibly invalid, data, so its problems are
reported together with the per-item ones instead of only after those are fixed.
``HALL_CHECKS`` lists them in the order they run; ``hall_links`` runs them all.
"""

from collections.abc import Callable, Mapping
from typing import Any

from .base import Loc, quote, unknown

Hall = Mapping[str, Any]
Found = list[tuple[Loc, str]]


def _listed(hall: Hall, key: str) -> list[tuple[int, Mapping[str, Any]]]:
    items = hall.get(key)
    if not isinstance(items, list | tuple):
        return []
    return [(index, item) for index, item in enumerate(items) if isinstance(item, Mapping)]


def _codes(hall: Hall) -> list[str]:
    return [
        item["code"] for _, item in _listed(hall, "services") if isinstance(item.get("code"), str)
    ]


def _unique(table: str, key: str) -> Callable[[Hall], Found]:
    def check(hall: Hall) -> Found:
        problems: Found = []
        first: dict[Any, int] = {}
        for index, item in _listed(hall, table):
            value = item.get(key)
            if not isinstance(value, str | int) or isinstance(value, bool):
                continue
            if value in first:
                message = f"duplicate {key} {quote(value)} (also {table}[{first[value]}])"
                problems.append(((table, index, key), message))
            else:
                first[value] = index
        return problems

    check.__name__ = f"unique_{table}_{key}"
    return check


def window_services_exist(hall: Hall) -> Found:
    """A window's listed services are services of the hall."""
    codes = _codes(hall)
    problems: Found = []
    for index, window in _listed(hall, "windows"):
        listed = window.get("services")
        for code in listed if isinstance(listed, Mapping) else {}:
            if code not in codes:
                problems.append(
                    (("windows", index, "services", code), unknown("service", code, codes))
                )
    return problems


def every_service_is_served(hall: Hall) -> Found:
    """Some window (a listing one, or a general 综合窗口) serves every service."""
    codes = _codes(hall)
    served: set[str] = set()
    for _, window in _listed(hall, "windows"):
        if window.get("general") is True:
            served.update(codes)
        if isinstance(window.get("services"), Mapping):
            served.update(window["services"])
    return [
        (("services", index), f"no window serves {quote(service['code'])}")
        for index, service in _listed(hall, "services")
        if isinstance(service.get("code"), str) and service["code"] not in served
    ]


def service_red_above_hall_yellow(hall: Hall) -> Found:
    """A service overriding one wait threshold keeps red above the hall's other one.

    (Both overridden is the service's own check.)
    """
    alarms = hall.get("alarms")
    alarms = alarms if isinstance(alarms, Mapping) else {}
    problems: Found = []
    for index, service in _listed(hall, "services"):
        if (service.get("wait_yellow_min") is None) == (service.get("wait_red_min") is None):
            continue
        yellow = service.get("wait_yellow_min") or alarms.get("wait_yellow_min")
        red = service.get("wait_red_min") or alarms.get("wait_red_min")
        if isinstance(yellow, int) and isinstance(red, int) and yellow >= red:
            message = f"red alarm {red} min must be above yellow alarm {yellow} min"
            problems.append((("services", index, "wait_red_min"), message))
    return problems


def device_windows_exist(hall: Hall) -> Found:
    """A device's windows are windows of the hall."""
    numbers = [
        item["number"]
        for _, item in _listed(hall, "windows")
        if isinstance(item.get("number"), int)
    ]
    problems: Found = []
    for index, device in _listed(hall, "devices"):
        wanted = device.get("windows")
        for position, number in enumerate(wanted if isinstance(wanted, list | tuple) else []):
            if isinstance(number, int) and numbers and number not in numbers:
                problems.append(
                    (("devices", index, "windows", position), f"no window number {number}")
                )
    return problems


HALL_CHECKS: tuple[Callable[[Hall], Found], ...] = (
    _unique("services", "code"),
    _unique("services", "prefix"),
    _unique("windows", "number"),
    _unique("devices", "name"),
    window_services_exist,
    every_service_is_served,
    service_red_above_hall_yellow,
    device_windows_exist,
)


def hall_links(hall: Hall) -> Found:
    """Run every hall-wide check in order; return all their problems."""
    return [problem for check in HALL_CHECKS for problem in check(hall)]
