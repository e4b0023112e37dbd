"""Alarms (预警) for supervisors: the open ones, the latest ones, acknowledge."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from ..contract import API_PREFIX
from ..services import alarms
from .common import actor, hall

alarms_api = Blueprint("alarms_api", __name__, url_prefix=API_PREFIX)


@alarms_api.get("/alarms")
def list_alarms() -> Any:
    actor("supervisor")
    open_only = request.args.get("all", "") not in {"1", "true", "yes"}
    return jsonify({"alarms": alarms.list_alarms(hall().ctx, open_only=open_only)})


@alarms_api.post("/alarms/<int:alarm_id>/ack")
def acknowledge(alarm_id: int) -> Any:
    who = actor("supervisor")
    return jsonify(alarms.acknowledge_alarm(hall().ctx, who, alarm_id))
