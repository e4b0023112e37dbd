"""``GET /metrics``: what an operator's Prometheus scrapes — counts in its text format, never a
person, and only with the token when one is set."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from hall_server.contract import NAMESPACE

from .hall import HallRig, build_hall
from .realtime.sockets import as_device


def samples(hall: HallRig, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = hall.client.get("/metrics", headers=headers)
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def test_metrics_count_requests_queues_events_and_issued_tickets(hall: HallRig) -> None:
    before = samples(hall)
    assert before[("hall_leader", ())] == 0.0  # the test app started no election
    assert before[("hall_queue_waiting", (("service", "a"),))] == 0.0
    assert before.get(("hall_tickets_issued_total", ()), 0.0) == 0.0

    ticket = hall.issue("a")
    assert ticket["number"]
    after = samples(hall)
    assert after[("hall_queue_waiting", (("service", "a"),))] == 1.0
    assert after[("hall_tickets_issued_total", ())] == 1.0
    assert after[("hall_events_published_total", (("type", "ticket.issued"),))] >= 1.0
    route = (("method", "POST"), ("route", "/api/v1/tickets"), ("status", "201"))
    issued = [key for key in after if key[0] == "hall_http_requests_total" and
              dict(key[1]).get("route") == "/api/v1/tickets"]  # fmt: skip
    assert issued, sorted(after)
    assert after.get(("hall_http_requests_total", route), after[issued[0]]) == 1.0
    count = ("hall_http_request_duration_seconds_count",
             (("method", "POST"), ("route", "/api/v1/tickets")))  # fmt: skip
    assert after[count] == 1.0
    assert ("hall_sockets_connected", (("audience", "public"),)) not in after  # none connected
    assert hall.client.post("/metrics").status_code == 405


def test_a_metrics_token_keeps_others_out(tmp_path: Path) -> None:
    hall = build_hall(f"sqlite:///{tmp_path / 'hall.db'}", tmp_path / "var",
                      metrics_token="scrape-secret")  # fmt: skip
    refused = hall.client.get("/metrics")
    assert refused.status_code == 401
    assert "需要监控令牌" in refused.get_data(as_text=True)
    assert hall.client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert samples(hall, Authorization="Bearer scrape-secret")[("hall_leader", ())] == 0.0
    hall.ctx.db.dispose()


def test_metrics_count_the_connected_sockets_by_audience(hall: HallRig) -> None:
    screen, staff = as_device(hall, "tv-1"), as_device(hall, "staff1")
    try:
        now = samples(hall)
        assert now[("hall_sockets_connected", (("audience", "public"),))] == 1.0
        assert now[("hall_sockets_connected", (("audience", "staff"),))] == 1.0
    finally:
        screen.disconnect(NAMESPACE)
        staff.disconnect(NAMESPACE)
    gone = samples(hall)
    assert ("hall_sockets_connected", (("audience", "public"),)) not in gone
