"""Hostile ids and methods (issue 9, item 6): never a 500, always the JSON error shape.

An id past 2^63-1 in a path or a query reached the database driver (OverflowError, 500).
Every route is taken from the app's URL map and every query argument from the source, so a
new route or argument is tried without anyone adding it here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.routing import Rule

from hall_server.api.ids import MAX_ID
from tests.live import LiveHall, start_live_hall

from ..hall import HallRig
from .raw_socketio import http_head

ROOT = Path(__file__).resolve().parents[3]
SOURCES = ("hall_server", "display", "window_client", "kiosk")
HOSTILE_IDS = [str(2**64), str(2**63), "9" * 30, "9" * 5000, "-1", "1.5", "²", "١٢", "0x10"]
HOSTILE_NUMBERS = [str(2**64), "9" * 5000, "-1", "1.5", "²", "", "abc"]
CALLERS = (None, "root", "boss", "staff1", "tv-1", "kiosk-1")
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "TRACE", "PROPFIND", "FOO")


def rules(hall: HallRig) -> list[Rule]:
    return sorted(hall.app.url_map.iter_rules(), key=lambda r: (r.rule, sorted(r.methods or ())))


def path_of(rule: Rule, number: str = "1") -> str:
    """The rule's path with every argument filled: ``number`` for ints, a word otherwise."""
    path = rule.rule
    for name, converter in rule._converters.items():  # the URL map's own record of them
        kind = type(converter).__name__
        value = number if "Int" in kind else ("hall.css" if kind == "PathConverter" else "x")
        path = re.sub(rf"<[^>:]*:?{name}>", value, path)
    return path


def int_rules(hall: HallRig) -> list[Rule]:
    return [
        r for r in rules(hall) if any("Int" in type(c).__name__ for c in r._converters.values())
    ]


def query_names() -> set[str]:
    """Every query argument a view reads, found in the source."""
    found: set[str] = set()
    pattern = re.compile(r"""(?:request\.args\.get|int_arg|_day|_seconds)\(\s*["'](\w+)["']""")
    for folder in SOURCES:
        for source in (ROOT / folder).rglob("*.py"):
            found.update(pattern.findall(source.read_text()))
    return found


def call(hall: HallRig, who: str | None, method: str, path: str, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {hall.tokens[who]}"} if who else {}
    response = hall.client.open(path, method=method, headers=headers, **kwargs)
    response.get_data()  # read, then close: a static file's answer holds the file open
    response.close()
    return response


def error_shape(response: Any) -> dict[str, Any]:
    """The project's JSON error, with its message in Chinese then English."""
    error: dict[str, Any] = response.get_json()["error"]
    assert set(error) >= {"code", "message"}, error
    chinese, _, english = error["message"].partition(" (")
    assert any("\u4e00" <= c <= "\u9fff" for c in chinese) and english.rstrip(".").endswith(")")
    return error


def test_the_routes_with_ids_are_found(hall: HallRig) -> None:
    assert len(int_rules(hall)) >= 7  # the seven of the report, and any added since


@pytest.mark.parametrize("value", HOSTILE_IDS)
def test_an_id_no_database_holds_matches_no_route(hall: HallRig, value: str) -> None:
    for rule in int_rules(hall):
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            for who in (None, "root"):
                response = call(hall, who, method, path_of(rule, value), json={})
                assert response.status_code == 404, (rule.rule, method, value, response.data)
                if rule.rule.startswith("/api/"):
                    assert error_shape(response)["code"] == "not_found"


def test_the_largest_id_a_database_holds_is_looked_up_without_a_500(hall: HallRig) -> None:
    for rule in int_rules(hall):
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            for who in CALLERS:
                response = call(hall, who, method, path_of(rule, str(MAX_ID)), json={})
                assert response.status_code < 500, (rule.rule, method, who, response.data)


def test_every_query_argument_is_found() -> None:
    assert {"after", "limit", "subscription", "window", "number"} <= query_names()


@pytest.mark.parametrize("value", HOSTILE_NUMBERS)
def test_hostile_query_numbers_never_answer_500(hall: HallRig, value: str) -> None:
    query = "&".join(f"{name}={value}" for name in sorted(query_names()))
    for rule in rules(hall):
        if "GET" not in (rule.methods or ()):
            continue
        for who in CALLERS:
            response = call(hall, who, "GET", f"{path_of(rule)}?{query}")
            assert response.status_code < 500, (rule.rule, who, value, response.data[:300])
            if response.status_code >= 400 and rule.rule.startswith("/api/"):
                error_shape(response)


@pytest.mark.parametrize(
    ("who", "path"),
    [("tv-1", "/api/v1/events?after={}"), ("tv-1", "/api/v1/events?after=0&limit={}"),
     ("root", "/api/v1/admin/audit?after={}"),
     ("root", "/api/v1/admin/webhooks/deliveries?subscription={}")],
)  # fmt: skip
def test_a_query_number_out_of_range_is_422_and_not_a_number_400(
    hall: HallRig, who: str, path: str
) -> None:
    too_big = call(hall, who, "GET", path.format(2**64))
    assert too_big.status_code == 422 and error_shape(too_big)["code"] == "invalid_input"
    for junk in ("-1", "²", "1e3"):
        not_a_number = call(hall, who, "GET", path.format(junk))
        assert not_a_number.status_code == 400, (path, junk)
        assert error_shape(not_a_number)["code"] == "bad_request"


def test_every_method_a_route_does_not_take_is_405_with_allow(hall: HallRig) -> None:
    urls = hall.app.url_map.bind("localhost")
    for path in sorted({path_of(rule) for rule in rules(hall)}):
        allowed = set(urls.allowed_methods(path))
        for method in METHODS:
            if method in allowed:
                continue
            response = call(hall, "root", method, path)
            assert response.status_code == 405, (path, method, response.status_code)
            assert set(response.headers["Allow"].split(", ")) == allowed, (path, method)
            if path.startswith("/api/"):
                assert error_shape(response)["code"] == "method_not_allowed"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHall]:
    hall = start_live_hall(Path(tmp_path_factory.mktemp("methods")))
    yield hall
    hall.stop()


@pytest.mark.parametrize(
    ("request_line", "allow"),
    [("TRACE /api/v1/health", "GET, HEAD, OPTIONS"), ("PROPFIND /", "GET, HEAD, OPTIONS"),
     ("FOO /api/v1/health", "GET, HEAD, OPTIONS"), ("TRACE /static/hall.css", "GET, HEAD, OPTIONS"),
     ("TRACE /socket.io/?EIO=4&transport=polling", "GET, OPTIONS, POST"),
     ("DELETE /socket.io/?EIO=4&transport=polling", "GET, OPTIONS, POST")],
)  # fmt: skip
def test_the_served_hall_answers_405_with_allow(
    live: LiveHall, request_line: str, allow: str
) -> None:
    answer = http_head(live, f"{request_line} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close")
    head = answer.split(b"\r\n\r\n", 1)[0].decode()
    assert head.startswith("HTTP/1.1 405"), head
    allowed = next(
        line.split(":", 1)[1] for line in head.splitlines() if line.lower().startswith("allow:")
    )
    assert sorted(m.strip() for m in allowed.split(",")) == allow.split(", ")


def test_the_served_hall_is_no_proxy(live: LiveHall) -> None:
    answer = http_head(
        live, "CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: 127.0.0.1:80\r\nConnection: close"
    )
    assert answer.startswith(b"HTTP/1.1 404")  # no such resource here, never a tunnel
