"""What the hall is told for each DLE EOT answer: silence is never OK."""

from __future__ import annotations

import pytest

from devices.base import Health
from devices.printer.status import status_from_replies


@pytest.mark.parametrize(
    ("online_reply", "paper_reply", "health", "online", "paper", "message"),
    [
        (0x12, 0x12, Health.OK, True, "ok", "打印机正常"),
        (0x12, 0x1E, Health.WARNING, True, "low", "打印机纸将用尽"),
        (0x12, 0x16, Health.WARNING, True, "low", "打印机纸将用尽"),  # one near-end sensor
        (0x1A, 0x7E, Health.FAULT, False, "out", "打印机缺纸"),
        (0x12, 0x72, Health.FAULT, True, "out", "打印机缺纸"),
        (0x1A, 0x12, Health.FAULT, False, "ok", "打印机离线"),
        (0x12, None, Health.UNKNOWN, True, "unknown", "打印机未报告纸张状态"),
        (0x12, 0xFF, Health.UNKNOWN, True, "unknown", "打印机未报告纸张状态"),  # noise
    ],
)
def test_answers_map_to_health_and_a_chinese_sentence(
    online_reply: int,
    paper_reply: int | None,
    health: Health,
    online: bool,
    paper: str,
    message: str,
) -> None:
    status = status_from_replies(online_reply, paper_reply)

    assert (status.health, status.online, status.detail["paper"]) == (health, online, paper)
    assert status.message.startswith(message)


@pytest.mark.parametrize("online_reply", [None, 0x00, 0xFF, 0x10])
def test_no_answer_or_noise_is_unknown_never_ok(online_reply: int | None) -> None:
    status = status_from_replies(online_reply, 0x12)

    assert status.health is Health.UNKNOWN
    assert status.online is None
    assert status.message.startswith("打印机无响应")
