"""What two views of the hall must agree on: the client's state and a fresh snapshot."""

from __future__ import annotations

from typing import Any

from hall_server.client.state import HallState


def snapshot_view(snap: dict[str, Any]) -> dict[str, Any]:
    """The parts of a snapshot that events keep up to date."""
    return {
        "seq": snap["seq"],
        "windows": {
            w["number"]: (w["state"], w["pause_reason"], w["state_since"], w["ticket"])
            for w in snap["windows"]
        },
        "waiting": {q["service"]: q["waiting"] for q in snap["queues"]},
        "recent_calls": [c["seq"] for c in snap["recent_calls"]],
        "alarms": snap["alarms"],
        "notices": snap["notices"],
    }


def state_view(state: HallState) -> dict[str, Any]:
    """The same parts, read from a client's state."""
    return snapshot_view(
        {
            "seq": state.seq,
            "windows": list(state.windows.values()),
            "queues": list(state.queues.values()),
            "recent_calls": state.recent_calls,
            "alarms": state.alarms,
            "notices": state.notices,
        }
    )
