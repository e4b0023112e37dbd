"""Fuzz the API from its own OpenAPI document (schemathesis): as anonymous, a kiosk, a
display, staff and an admin, generated requests — valid and invalid bodies, path and query
values — never get a 5xx, and every answer's status, content type and body are what the
document declares.

Bounded for CI: a fixed number of examples per operation and caller, derandomized (the same
requests on every run), no deadline. Rerun: ``.venv/bin/python -m pytest -q
tests/hall_server/security/test_fuzz_openapi.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hall_server.api.openapi import openapi_document

from ..hall import HallRig

pytestmark = pytest.mark.slow

CALLERS = {"anonymous": None, "kiosk": "kiosk-1", "display": "tv-1", "staff": "staff1",
           "admin": "root"}  # fmt: skip
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


schemathesis.serializer.alias("application/toml", "text/plain")  # a hall file is text
# The document as the app serves it (GET /api/v1/openapi.json builds the same dict).
schema = schemathesis.openapi.from_dict(openapi_document())


@pytest.fixture
def busy_hall(hall: HallRig) -> HallRig:
    """The small hall with a window in use and a ticket waiting, so routes reach their rules."""
    hall.act("staff1", 3, "open")
    hall.issue("b")
    return hall


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_answer_is_a_server_error_or_off_the_document(case: Any, busy_hall: HallRig) -> None:
    for token in CALLERS.values():  # each generated request, as each caller in turn
        auth = {"Authorization": f"Bearer {busy_hall.tokens[token]}"} if token else {}
        case.call_and_validate(app=busy_hall.app, headers=auth, checks=CHECKS)
