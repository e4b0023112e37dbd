"""The keypad agent (叫号器代理): keys of a window's keypad become window actions on the server.

One process per keypad. It talks to the hall server only over HTTP with its agent
device token (an agent bound to the window), shows the outcome of every press on the
keypad's display line, and between presses shows the window's state (its ticket, or how
many wait). A press that got no answer is retried with the same Idempotency-Key, so a
flaky network never acts twice.

    hall keypad-agent --server http://hall:5000 --token d.… --keypad '{"type": "serial",
        "url": "/dev/ttyUSB0", "address": 2}'
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from devices.base import DeviceError
from devices.keypad import Intent, KeyBuffer, Keypad, build_keypad
from devices.keypad.keys import SCORE_LABELS
from hall_server.client.api import ApiError, HallApi, Unreachable
from hall_server.client.status import StatusReporter

log = logging.getLogger(__name__)

REFRESH_S = 5.0  # how often the idle line is read again from the server
RETRIES = 2  # extra tries of a press that got no answer (same Idempotency-Key)
BAD_SCORE_REASON = "按键评价器未选原因 (keypad: no reason given)"
STATE_ZH = {"called": "已叫号", "serving": "办理中"}
DONE_ZH = {
    "call-next": "{n} 已呼叫",
    "call": "特呼 {n}",
    "recall": "{n} 重呼",
    "start": "{n} 办理中",
    "finish": "{n} 已办结",
    "no-show": "{n} 已过号",
    "hold": "{n} 已挂起",
    "transfer": "{n} 已转移",
    "pause": "暂停服务",
    "resume": "恢复服务",
}


def short(message: str) -> str:
    """Keep the Chinese half of a server sentence for a one-line display."""
    return message.split(" (", 1)[0].rstrip("。.")


@dataclass
class AgentConfig:
    """What the agent serves: its window, the prefixes for 特呼, and its habits."""

    window: int
    prefixes: Sequence[str]
    pause_reason: str = "临时离开"
    digits: int = 3


class KeypadAgent:
    """Turn a keypad's key strokes into window actions and show the outcome."""

    def __init__(
        self,
        keypad: Keypad,
        api: HallApi,
        config: AgentConfig,
        *,
        evaluator: HallApi | None = None,
        new_key: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        """Drive window ``config.window`` from ``keypad``; ``evaluator`` records score keys."""
        self.keypad = keypad
        self.api = api
        self.config = config
        self.evaluator = evaluator
        self.buffer = KeyBuffer(config.prefixes or ("A",), digits=config.digits)
        self.new_key = new_key
        self.last_finished: tuple[int, str] | None = None  # (ticket id, number) to rate
        self.status = StatusReporter(api)
        self.line = ""

    def show(self, text: str) -> None:
        """Put ``text`` on the display line (a dead display must not stop the keys)."""
        self.line = text
        try:
            self.keypad.show(text)
        except DeviceError as error:
            log.warning("keypad display: %s", error)

    def press(self, key: str | None) -> str:
        """Take one key stroke; act when it completes an intent; return the line shown."""
        intent = self.buffer.press(key)
        if intent is None:
            typing = self.buffer.display()
            if typing:
                self.show(typing)
            elif key == "clear":
                self.show(self.idle_line())
            return self.line
        self.show(self.act(intent))
        return self.line

    def act(self, intent: Intent) -> str:
        """Carry out one intent on the server; return the line that tells how it went."""
        if intent.action == "evaluation":
            return self._evaluate(int(intent.argument or 0))
        body: dict[str, Any] = {}
        if intent.action == "call":
            body["number"] = intent.argument
        elif intent.action == "transfer":
            body["window"] = int(intent.argument or 0)
        elif intent.action == "pause":
            body["reason"] = self.config.pause_reason
        key = self.new_key()
        path = f"/windows/{self.config.window}/{intent.action}"
        for attempt in range(RETRIES + 1):
            try:
                answer = self.api.call("POST", path, body, key=key)
                break
            except ApiError as error:
                return short(error.message)
            except Unreachable:
                if attempt == RETRIES:
                    return "网络故障 请重按"
        ticket = answer.get("ticket")
        if intent.action == "finish" and ticket:
            self.last_finished = (int(ticket["id"]), str(ticket["number"]))
        if intent.action == "call-next" and not ticket:
            return "无人等候"
        if intent.action == "transfer" and ticket:
            return f"{ticket['number']} 转{intent.argument}号窗"
        if intent.action == "recall" and ticket:
            return f"{ticket['number']} 第{ticket['call_count']}次呼叫"
        number = ticket["number"] if ticket else ""
        return DONE_ZH.get(intent.action, intent.action).format(n=number).strip()

    def _evaluate(self, score: int) -> str:
        if self.evaluator is None:
            return "未配置评价器"
        if self.last_finished is None:
            return "无可评价业务"
        ticket_id, number = self.last_finished
        reasons = [BAD_SCORE_REASON] if score <= 2 else []
        try:
            self.evaluator.call(
                "POST", f"/tickets/{ticket_id}/evaluation", {"score": score, "reasons": reasons}
            )
        except ApiError as error:
            return short(error.message)
        except Unreachable:
            return "网络故障 请重按"
        self.last_finished = None
        return f"{number} {SCORE_LABELS[score]}"

    def idle_line(self) -> str:
        """The window's state in one line: its ticket, a pause, or how many wait."""
        try:
            desk = self.api.call("GET", f"/windows/{self.config.window}/desk")
        except (ApiError, Unreachable) as error:
            return short(str(error)) if isinstance(error, ApiError) else "连接服务器中"
        window, ticket = desk["window"], desk.get("ticket")
        if ticket:
            return f"{ticket['number']} {STATE_ZH.get(ticket['status'], '')}".strip()
        if window["state"] == "closed":
            return f"{self.config.window}号窗口 未开启"
        if window["state"] == "paused":
            return f"暂停 {window['pause_reason']}"
        waiting = sum(q["waiting"] for q in desk["queues"])
        return f"{self.config.window}号窗 等候{waiting}人"

    def report_status(self) -> None:
        """Tell the server how the keypad is, when that changed."""
        self.status.report("keypad", self.keypad.status().as_dict())

    def run(self, stop: threading.Event, *, refresh_s: float = REFRESH_S) -> None:
        """Read keys until ``stop`` is set; refresh the idle line every ``refresh_s``."""
        self.show(self.idle_line())
        self.report_status()
        next_refresh = time.monotonic() + refresh_s
        while not stop.is_set():
            try:
                events = self.keypad.read_events(0.5)
            except DeviceError as error:
                log.warning("keypad: %s", error)
                self.report_status()
                stop.wait(1.0)  # the port reopens on the next read
                continue
            for event in events:
                self.press(event.key)
            if events:
                next_refresh = time.monotonic() + refresh_s
            elif time.monotonic() >= next_refresh and not self.buffer.pending:
                next_refresh = time.monotonic() + refresh_s
                line = self.idle_line()
                if line != self.line:
                    self.show(line)
                self.report_status()


def build_agent(
    server: str,
    token: str,
    *,
    keypad_options: Mapping[str, Any] | None = None,
    window: int | None = None,
    evaluator_token: str | None = None,
) -> KeypadAgent:
    """Ask the server what this agent serves and build it on the configured keypad."""
    api = HallApi(server, token)
    me = api.call("GET", "/keypads/me")
    windows = {w["number"]: w for w in me["windows"]}
    if not windows:
        raise SystemExit(f"设备 {me['name']} 未绑定窗口 (the agent is bound to no window).")
    number = window if window is not None else min(windows)
    if number not in windows:
        raise SystemExit(
            f"设备 {me['name']} 未绑定{number}号窗口 (the agent is not bound to window {number})."
        )
    options = dict(keypad_options or me["options"].get("keypad") or {"type": "fake"})
    config = AgentConfig(
        window=number,
        prefixes=windows[number]["prefixes"] or ["A"],
        pause_reason=str(me["options"].get("pause_reason", "临时离开")),
    )
    evaluator = HallApi(server, evaluator_token) if evaluator_token else None
    return KeypadAgent(build_keypad(options), api, config, evaluator=evaluator)


def run_agent(
    server: str,
    token: str,
    *,
    keypad_json: str = "",
    window: int | None = None,
    evaluator_token: str | None = None,
) -> None:
    """Run one keypad agent until interrupted (``hall keypad-agent``)."""
    import json
    import signal

    options = json.loads(keypad_json) if keypad_json else None
    stop = threading.Event()
    agent = build_agent(
        server, token, keypad_options=options, window=window, evaluator_token=evaluator_token
    )
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    log.info("keypad agent for window %d on %s", agent.config.window, server)
    try:
        agent.run(stop)
    except KeyboardInterrupt:
        pass
    finally:
        agent.keypad.close()
        agent.api.close()
