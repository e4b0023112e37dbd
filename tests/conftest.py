"""Fixtures every folder may use: the small hall on SQLite (tests/hall_server/hall.py),
a live hall server and a real browser (tests/live.py)."""

from tests.hall_server.hall import hall, sqlite_template  # noqa: F401 - fixtures
from tests.live import browser, live_hall, page  # noqa: F401 - fixtures

collect_ignore = ["live.py", "needs.py"]
