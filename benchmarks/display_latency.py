"""How long a call takes to reach the hall TV page and a window's LED strip.

From sending ``call-next`` (HTTP) to (a) the TV page painting the number as the current
call (the first animation frame after it is in the DOM, in Debian Chromium via
Playwright) and (b) the display agent's LED frame for it arriving at the far end of a pty
pair (generic protocol, decoded and checked). Median and p99 over ``--calls`` calls.

    .venv/bin/python benchmarks/display_latency.py --calls 200
    .venv/bin/python benchmarks/display_latency.py --calls 200 --write-docs

One call at a time into an idle hall (the bench waits for both screens before the next
call), so each number is the latency of one call, not of a queue. The server is a real
``hall serve`` (gevent, SQLite) on 127.0.0.1; the page, the agent and the bench share the
machine with it. Voice is off for the bench display: the WAV fetch would add server load
that is not on the path being measured. Times: the browser's ``performance.timeOrigin +
performance.now()`` against the bench's ``time.time()`` (same machine, same clock), and
``time.monotonic()`` for the LED frame (bench and pty reader in one process).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from display.agent import DisplayAgent  # noqa: E402
from tests.display.halls import WireReader, display_hall, led_agent  # noqa: E402
from tests.live import CHROMIUM_ARGS, LiveHall, start_live_hall  # noqa: E402

BENCH_DISPLAY = """
[[hall.devices]]
name = "tv-bench"
kind = "display"
[hall.devices.options]
voice = false
"""
DOCS = ROOT / "docs" / "BENCHMARKS.md"
START, END = "<!-- display-latency:start -->", "<!-- display-latency:end -->"


def percentile(values: list[float], q: float) -> float:
    """Return the q-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def act(hall: LiveHall, window: int, action: str) -> dict[str, Any]:
    response = hall.api("boss", "POST", f"/windows/{window}/{action}")
    response.raise_for_status()
    return dict(response.json())


def run(calls: int, folder: Path) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    readers = [WireReader(), WireReader()]
    strip = readers[0]  # the board pty is read too, so its writes never block
    config = display_hall(folder, BENCH_DISPLAY, led_agent(readers[0].path, readers[1].path))
    hall = start_live_hall(folder, config=config)
    agent = DisplayAgent(hall.base_url, hall.tokens["led-agent"], status_interval_s=600)
    tv: list[float] = []
    led: list[float] = []
    try:
        act(hall, 3, "open")
        for _ in range(calls):
            response = hall.api("kiosk-1", "POST", "/tickets", {"service": "b"})
            response.raise_for_status()
        agent.start(connect_timeout_s=10)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
            )
            page = browser.new_page(locale="zh-CN", viewport={"width": 1920, "height": 1080})
            page.goto(hall.url(f"/display/tv-bench?token={hall.tokens['tv-bench']}"))
            # A function, not a string: the page's CSP refuses eval of a string.
            page.wait_for_function("() => window.hallDisplay && window.hallDisplay.connected")
            strip.wait_for_text("3号窗口 欢迎您")
            for index in range(calls):
                if index:
                    act(hall, 3, "finish")
                    strip.wait_for_text("3号窗口 欢迎您", after=strip.count() - 1)
                frames_before = strip.count()
                sent_wall, sent_mono = time.time(), time.monotonic()
                number = act(hall, 3, "call-next")["ticket"]["number"]
                arrived = strip.wait_for_text(f"{number} 请到3号窗口", after=frames_before)
                led.append((arrived - sent_mono) * 1000)
                shown = page.wait_for_function(
                    f"() => window.hallDisplay.shownAt[{number!r}] || false", timeout=10_000
                ).json_value()
                tv.append(float(shown) - sent_wall * 1000)
            browser.close()
    finally:
        agent.stop()
        hall.stop()
        for reader in readers:
            reader.close()
    return {"tv": tv, "led": led}


def report(results: dict[str, list[float]]) -> str:
    rows = []
    for key, label in (("tv", "TV page shows it (综合屏)"), ("led", "LED strip frame written")):
        values = results[key]
        rows.append(
            f"| call-next → {label} | {len(values)} | {statistics.median(values):.1f} | "
            f"{percentile(values, 99):.1f} | {max(values):.1f} |"
        )
    cpu = platform.processor() or platform.machine()
    return "\n".join(
        [
            START,
            "## Display latency: a call reaching the TV page and the LED strip",
            "",
            "`benchmarks/display_latency.py`: one call at a time into an idle hall, from",
            "sending `call-next` to the TV page painting the number (Debian Chromium,",
            "Playwright, first animation frame after the DOM update) and to the display",
            "agent's generic LED frame arriving at the far end of a pty pair. Real",
            "`hall serve` (gevent, SQLite), page, agent and bench on one machine",
            f"({os.cpu_count()} CPUs, {cpu}, Python {platform.python_version()}).",
            "",
            "| path | calls | median ms | p99 ms | max ms |",
            "|---|---:|---:|---:|---:|",
            *rows,
            "",
            "Both include the `call-next` request itself (claim, log, commit) and the",
            "Socket.IO fan-out; the LED path adds the agent's copy of the state and one",
            "serial write. Voice was off on the bench display (see the script's docstring).",
            END,
        ]
    )


def write_docs(section: str) -> None:
    """Put the section into docs/BENCHMARKS.md: replace our own, or append it."""
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    if START in text and END in text:
        head, _, rest = text.partition(START)
        _, _, tail = rest.partition(END)
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOCS.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--write-docs", action="store_true", help="update docs/BENCHMARKS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = run(args.calls, Path(tmp))
    section = report(results)
    print(section)
    if args.write_docs:
        write_docs(section)


if __name__ == "__main__":
    main()
