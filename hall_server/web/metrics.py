"""``GET /metrics``: this server process's counts in the Prometheus text format.

One registry per process (per app): each process is scraped on its own address (several
``hall serve`` behind nginx, each on its port — docs/DEPLOY notes in ARCHITECTURE.md). What
it holds: requests by route and status and their latencies, events published and tickets
issued by this process, connected sockets by audience, whether this process leads, and the
hall's waiting counts per service (read from the day counters at scrape time — cheap, and the
same on every process). Counts only, never a person (docs/SECURITY.md); with
``server.metrics_token`` set, only a request bearing it reads them.

Served as a WSGI layer in front of the app, not as a Flask route: it is no page and no part of
the API, and a scrape is not counted among the requests it reports.
"""

from __future__ import annotations

import hmac
import time
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import Flask, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ..contract import NAMESPACE
from ..leader import leads_the_hall
from ..services.public_stream import queue_counts

PATH = "/metrics"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class HallMetrics:
    """The metrics of one app, and the subscriber that counts its published events."""

    def __init__(self, app: Flask) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "hall_http_requests", "HTTP requests answered, by route and status",
            ["method", "route", "status"], registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "hall_http_request_duration_seconds", "Time to answer an HTTP request, by route",
            ["method", "route"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.events = Counter(
            "hall_events_published", "Hall events this process committed and published, by type",
            ["type"], registry=self.registry,
        )  # fmt: skip
        self.tickets = Counter(
            "hall_tickets_issued", "Tickets (号) this process issued", registry=self.registry
        )
        self.registry.register(_ScrapeTime(app))

    def __call__(self, events: list[dict[str, Any]]) -> None:
        """A subscriber: count what a commit published."""
        for event in events:
            kind = str(event.get("type", ""))
            self.events.labels(kind).inc()
            if kind == "ticket.issued":
                self.tickets.inc()


class _ScrapeTime(Collector):
    """What is read when Prometheus asks: waiting counts, sockets, the leader."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterable[GaugeMetricFamily]:
        leader = GaugeMetricFamily("hall_leader", "1 if this process runs the background duties")
        leader.add_metric([], 1.0 if leads_the_hall(self.app) else 0.0)
        yield leader
        sockets = GaugeMetricFamily(
            "hall_sockets_connected", "Socket.IO connections to this process, by audience",
            labels=["audience"],
        )  # fmt: skip
        for audience, count in sorted(_audiences(self.app).items()):
            sockets.add_metric([audience], count)
        yield sockets
        waiting = GaugeMetricFamily(
            "hall_queue_waiting", "Tickets waiting today, by service (the day counters)",
            labels=["service"],
        )  # fmt: skip
        counts = queue_counts(self.app.extensions["hall"].ctx)["waiting"]
        for service, count in sorted(counts.items()):
            waiting.add_metric([service], count)
        yield waiting


def _audiences(app: Flask) -> Tally[str]:
    socketio = app.extensions.get("socketio")
    server = getattr(socketio, "server", None)
    handler = server.namespace_handlers.get(NAMESPACE) if server is not None else None
    return Tally(dict(getattr(handler, "audience", {})).values())


def init_metrics(app: Flask) -> HallMetrics:
    """Count this app's requests and serve ``/metrics`` (call after Socket.IO's init_app)."""
    metrics = HallMetrics(app)
    app.extensions["hall_metrics"] = metrics

    @app.before_request
    def _started() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _answered(response: Any) -> Any:
        started = g.pop("metrics_started", None)
        if started is not None:
            route = request.url_rule.rule if request.url_rule is not None else "(no route)"
            metrics.requests.labels(request.method, route, str(response.status_code)).inc()
            metrics.latency.labels(request.method, route).observe(time.perf_counter() - started)
        return response

    token = app.extensions["hall"].settings.server.metrics_token
    app.wsgi_app = _MetricsLayer(app.wsgi_app, make_wsgi_app(metrics.registry), token)  # type: ignore[method-assign]
    return metrics


class _MetricsLayer:
    """``/metrics`` to Prometheus's WSGI app (after the token check), the rest to the app."""

    def __init__(self, inner: Callable[..., Any], metrics_app: Callable[..., Any],
                 token: str) -> None:  # fmt: skip
        self.inner, self.metrics_app, self.token = inner, metrics_app, token

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterator[bytes] | Any:
        if environ.get("PATH_INFO") != PATH:
            return self.inner(environ, start_response)
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return _answer(start_response, "405 METHOD NOT ALLOWED", [("Allow", "GET, HEAD")],
                           "只能读取 (only GET reads the metrics)")  # fmt: skip
        if self.token:
            given = environ.get("HTTP_AUTHORIZATION", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
                return _answer(start_response, "401 UNAUTHORIZED",
                               [("WWW-Authenticate", "Bearer")],
                               "需要监控令牌 (the metrics token is required)")  # fmt: skip
        return self.metrics_app(environ, start_response)


def _answer(start_response: Any, status: str, headers: list[tuple[str, str]],
            message: str) -> list[bytes]:  # fmt: skip
    body = (message + "\n").encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                            ("Content-Length", str(len(body))), *headers])  # fmt: skip
    return [body]
