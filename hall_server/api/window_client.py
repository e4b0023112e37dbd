"""The window client's reads under /api/v1: a window's desk, who is logged in, logout, keypads."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from ..contract import API_PREFIX
from ..services import staff_sessions
from .common import actor, bearer, hall

window_client_api = Blueprint("window_client_api", __name__, url_prefix=API_PREFIX)


@window_client_api.get("/windows/<int:number>/desk")
def desk(number: int) -> Any:
    who = actor("staff", "device:agent")
    return jsonify(staff_sessions.window_desk(hall().ctx, who, number))


@window_client_api.get("/staff/me")
def me() -> Any:
    who = actor("staff")
    return jsonify(staff_sessions.whoami(hall().ctx, who))


@window_client_api.post("/staff/logout")
def staff_logout() -> Any:
    who = actor("staff")
    return jsonify(staff_sessions.staff_logout(hall().ctx, who, bearer() or ""))


@window_client_api.get("/keypads/me")
def keypad_me() -> Any:
    who = actor("device:agent")
    return jsonify(staff_sessions.keypad_config(hall().ctx, who))
