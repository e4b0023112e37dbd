"""Fixtures every folder may use: a live hall server and a real browser (tests/live.py)."""

from tests.live import browser, live_hall, page  # noqa: F401 - fixtures

collect_ignore = ["live.py", "needs.py"]
