"""What every handler needs: the hall, the caller, the parsed body."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from flask import current_app, request
from pydantic import BaseModel

from ..db import Database
from ..domain.errors import InvalidInput
from ..services.actors import Actor
from ..services.auth import authenticate, require
from ..services.context import HallContext
from ..settings import Settings
from .errors import BadRequest

B = TypeVar("B", bound=BaseModel)


@dataclass
class HallApp:
    """What ``create_app`` builds once and every request uses."""

    settings: Settings
    db: Database
    ctx: HallContext


def hall() -> HallApp:
    app_state: HallApp = current_app.extensions["hall"]
    return app_state


def bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def actor(*allowed: str) -> Actor:
    """Authenticate the caller and check it is one of ``allowed``."""
    who = authenticate(hall().ctx, bearer())
    if allowed:
        require(who, *allowed)
    return who


def body(schema: type[B]) -> B:
    """Parse the JSON body with ``schema``: 400 when it is not JSON, 422 when values are off."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return schema.model_validate({})
    data = request.get_json(silent=True)
    if data is None or not isinstance(data, dict):
        raise BadRequest("请求体不是有效的 JSON 对象 (the request body is not a JSON object).")
    return schema.model_validate(data)


def require_service_or_booking(service: str | None, appointment_code: str | None) -> None:
    """Both issue endpoints (POST /tickets, POST /kiosk/tickets): a body without a service
    or a booking code parses but is not a request to issue anything (422)."""
    if not service and not appointment_code:
        raise InvalidInput("请选择事项 (choose a service, or give a booking code).")


def idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > 100:
        raise BadRequest("Idempotency-Key 过长 (at most 100 characters).")
    return key or None
