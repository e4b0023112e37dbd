"""``hall demo`` behaves like a hall: device tokens survive a restart, a revoked page says so,
the turn-near messages are shown, the fake printer's paper is set from the demo desk, and a
printer back to ok/low clears its paper-out alarm; kiosks are named by their place.

The live tests run the real ``hall demo`` (SQLite, fake devices, its agent processes) on
127.0.0.1; one demo per module, restarted on the same var/ by the restart test.
Set HALL_DOC_SCREENSHOTS=1 to (re)write docs/screenshots/demo-*.png while the tests run.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from hall_server.demo import TOKENS_FILE, DemoOutbox, read_tokens
from hall_server.services.alarms import check_alarms
from hall_server.services.kiosk import unavailable_message
from hall_server.services.setup import DEMO_LOGINS
from tests.hall_server.hall import HallRig
from tests.live import DEMO_HALL, LiveHall
from tests.support.axe import axe_violations, small_touch_targets
from tests.support.polling import until
from tests.support.ports import free_port
from tests.support.serve import answers

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots"
PASSWORDS = {login: password for login, _, _, password in DEMO_LOGINS}
REVOKED = "此设备的令牌已被撤销，请联系管理员"
PHONE = "13912345678"
WAIT_S = 30.0


def shoot(page: Any, name: str, *, full_page: bool = False) -> None:
    if os.environ.get("HALL_DOC_SCREENSHOTS"):
        page.screenshot(path=str(SHOTS / f"demo-{name}.png"), full_page=full_page)


# ---------------------------------------------------------------- a real `hall demo`


@dataclass
class DemoRun:
    """One ``hall demo`` on 127.0.0.1 (with its agents, in a session of its own) and its var/."""

    var: Path
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    tokens: dict[str, str] = field(default_factory=dict)
    staff: dict[str, str] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> None:
        """Start the demo and return once it answers and printed its device tokens."""
        env = {**os.environ, "HALL_CONFIG": str(DEMO_HALL), "HALL_VAR_DIR": str(self.var)}
        for name in ("HALL_DATABASE_URL", "HALL_MESSAGE_QUEUE", "HALL_SECRET_KEY"):
            env.pop(name, None)  # the demo's own: SQLite and a secret kept in var/
        command = [sys.executable, "-m", "hall_server", "demo", "--port", str(self.port)]
        begun = len(self.log())
        with self.log_path.open("ab") as out:
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,  # its agents too: stop() ends the whole session
            )  # fmt: skip
        self.process = process

        def ready() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"hall demo exited with {process.returncode}:\n{self.log()}")
            return answers(f"http://127.0.0.1:{self.port}")

        until(ready, WAIT_S, what="hall demo answering HTTP")
        printed = self.log()[begun:]
        self.tokens = dict(re.findall(r"^    (\S+)\s+\w+\s+(d\.\S+)$", printed, re.M))
        assert "kiosk-1f-a" in self.tokens, printed
        self.staff = {login: self.login(login) for login in ("admin", "supervisor", "staff01")}

    def login(self, login: str) -> str:
        answer = requests.post(self.url("/api/v1/auth/login"), timeout=10,
                               json={"login": login, "password": PASSWORDS[login]})  # fmt: skip
        answer.raise_for_status()
        return str(answer.json()["token"])

    def stop(self) -> None:
        """SIGTERM the demo and its agents (their session), SIGKILL after 10 s."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def api(self, who: str, method: str, path: str, json: Any = None) -> requests.Response:
        token = self.staff.get(who) or self.tokens[who]
        return requests.request(method, self.url("/api/v1" + path), json=json, timeout=10,
                                headers={"Authorization": f"Bearer {token}"})  # fmt: skip

    def paper(self, kiosk: str, paper: str) -> None:
        """Press the demo desk's paper button of ``kiosk`` (a form post, as the browser does)."""
        answer = requests.post(self.url(f"/demo/printers/{kiosk}"), data={"paper": paper},
                               allow_redirects=False, timeout=10)  # fmt: skip
        assert answer.status_code == 303, answer.text

    def printer(self, kiosk: str) -> dict[str, Any]:
        state = self.api(kiosk, "GET", "/kiosk/state")
        state.raise_for_status()
        return dict(state.json()["printer"])

    def device_alarms(self, kiosk: str) -> list[tuple[str, str]]:
        """The open alarms of ``kiosk``'s printer: (level, message)."""
        answer = self.api("supervisor", "GET", "/alarms")
        answer.raise_for_status()
        return [(a["level"], a["message"]) for a in answer.json()["alarms"]
                if a["subject"] == f"device:{kiosk}/printer"]  # fmt: skip


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    folder = tmp_path_factory.mktemp("demo")
    run = DemoRun(folder / "var", folder / "demo.log")
    run.start()
    yield run
    run.stop()


def printer_ready(demo: DemoRun, kiosk: str) -> bool:
    return bool(demo.printer(kiosk)["ready"])


# ---------------------------------------------------------------- tokens and revoked pages


@pytest.mark.browser
def test_open_pages_keep_working_across_a_demo_restart_and_a_revoked_one_says_so(
    demo: DemoRun, browser: Any
) -> None:
    before = dict(demo.tokens)
    assert read_tokens(demo.var / TOKENS_FILE) == before
    assert (demo.var / TOKENS_FILE).stat().st_mode & 0o777 == 0o600
    context = browser.new_context(locale="zh-CN", viewport={"width": 1920, "height": 1080})
    try:
        kept = context.new_page()
        kept.goto(demo.url(f"/display/display-1f?token={before['display-1f']}"))
        gone = context.new_page()
        gone.goto(demo.url(f"/display/display-2f?token={before['display-2f']}"))
        for page in (kept, gone):
            page.locator("#conn[data-up=true]").wait_for(timeout=WAIT_S * 1000)
        # Revoked while its page is open: the page says so (it does not "reconnect" forever).
        assert demo.api("admin", "POST", "/admin/devices/display-2f/revoke").ok
        gone.locator("#message", has_text=REVOKED).wait_for(timeout=WAIT_S * 1000)

        demo.stop()
        kept.locator("#conn[data-up=false]").wait_for(timeout=WAIT_S * 1000)
        demo.start()

        after = demo.tokens
        assert {k: v for k, v in after.items() if k != "display-2f"} == {
            k: v for k, v in before.items() if k != "display-2f"
        }, "a restart kept every working token"
        assert after["display-2f"] != before["display-2f"], "the revoked one got a new token"
        kept.locator("#conn[data-up=true]").wait_for(timeout=WAIT_S * 1000)
        assert REVOKED not in kept.inner_text("body")
        key = "hall-display-token:display-1f"
        assert kept.evaluate("(k) => localStorage.getItem(k)", key) == before["display-1f"]
        assert gone.locator("#offline").is_hidden()
        assert "this device's token was revoked" in gone.inner_text("#message")
        shoot(gone, "tv-revoked")
        # The kept kiosk token still opens its kiosk, and the new TV token its TV.
        assert demo.api("kiosk-1f-b", "GET", "/kiosk/state").ok
        fresh = context.new_page()
        fresh.goto(demo.url(f"/display/display-2f?token={after['display-2f']}"))
        fresh.locator("#conn[data-up=true]").wait_for(timeout=WAIT_S * 1000)
    finally:
        context.close()


# ---------------------------------------------------------------- the SMS outbox


def test_the_demo_shows_each_turn_near_message_it_sends(demo: DemoRun) -> None:
    until(lambda: printer_ready(demo, "kiosk-1f-b"), WAIT_S, what="kiosk-1f-b's printer ready")
    window = 5  # 社会保障 and 医疗保障
    assert demo.api("staff01", "POST", f"/windows/{window}/open").ok
    ahead = 0
    for _ in range(4):
        ticket = demo.api("kiosk-1f-b", "POST", "/kiosk/tickets", {"service": "shebao"})
        assert ticket.status_code == 201, ticket.text
    mine = demo.api("kiosk-1f-b", "POST", "/kiosk/tickets", {"service": "shebao", "phone": PHONE})
    assert mine.status_code == 201, mine.text
    number, ahead = mine.json()["number"], mine.json()["people_ahead"]
    assert ahead > 3

    def told() -> bool:
        return number in demo.log() and "139****5678" in requests.get(demo.url("/demo")).text

    for _ in range(ahead):  # each call moves the visitor one place closer
        for action in ("call-next", "start", "finish"):
            answer = demo.api("staff01", "POST", f"/windows/{window}/{action}")
            assert answer.ok, answer.text
        if told():
            break
    until(told, WAIT_S, what="the message on the demo desk and the console")
    page = requests.get(demo.url("/demo/outbox")).text
    assert f"您的{number}号（社会保障）" in page and PHONE not in page  # masked
    line = next(line for line in demo.log().splitlines() if number in line and "短信 SMS" in line)
    assert "139****5678" in line and PHONE not in line
    assert demo.api("staff01", "POST", f"/windows/{window}/close").ok


def test_the_outbox_keeps_the_latest_messages_newest_first_and_masks_phones() -> None:
    echoed: list[str] = []
    outbox = DemoOutbox(echo=echoed.append, keep=2)
    for n in range(3):
        outbox.send(f"1380000000{n}", f"message {n}")
    assert [(m.phone, m.message) for m in outbox.latest()] == [
        ("138****0002", "message 2"),
        ("138****0001", "message 1"),
    ]
    assert len(echoed) == 3 and all("1380000000" not in line for line in echoed)


# ---------------------------------------------------------------- the fake printer's paper


def test_paper_out_from_the_demo_desk_alarms_names_other_kiosks_by_place_and_ok_clears_it(
    demo: DemoRun,
) -> None:
    kiosk = "kiosk-1f-a"
    until(lambda: printer_ready(demo, kiosk), WAIT_S, what=f"{kiosk}'s printer ready")
    until(lambda: printer_ready(demo, "kiosk-1f-b"), WAIT_S, what="kiosk-1f-b ready")
    try:
        demo.paper(kiosk, "out")
        printer = until(lambda: (p := demo.printer(kiosk))["paper"] == "out" and p, WAIT_S,
                        what="the printer reporting no paper")  # fmt: skip
        assert not printer["ready"]
        sentence = printer["sentence"]
        assert sentence.startswith("本机暂停取号：打印机缺纸。请到其他取号机取号：")
        assert "1楼入口西侧自助机" in sentence and "2楼电梯厅自助机" in sentence
        assert "kiosk-1f-b" not in sentence and "kiosk-2f-a" not in sentence  # places, not ids
        [(level, message)] = until(lambda: demo.device_alarms(kiosk), WAIT_S, what="the alarm")
        assert level == "red" and "缺纸" in message and "1楼入口东侧自助机" in message

        demo.paper(kiosk, "low")  # paper changed for a nearly empty roll: it prints again
        until(lambda: [lv for lv, _ in demo.device_alarms(kiosk)] == ["yellow"], WAIT_S,
              what="the paper-out alarm replaced by paper low")  # fmt: skip
        assert demo.printer(kiosk)["ready"]

        demo.paper(kiosk, "ok")
        until(lambda: demo.device_alarms(kiosk) == [], WAIT_S, what="the alarm cleared")
        page = requests.get(demo.url("/demo")).text
        assert f'data-kiosk="{kiosk}"' in page and "打印机正常" in page
    finally:
        demo.paper(kiosk, "ok")


def test_the_demo_desk_refuses_unknown_kiosks_states_and_other_sites(demo: DemoRun) -> None:
    until(lambda: printer_ready(demo, "kiosk-1f-a"), WAIT_S, what="kiosk-1f-a's printer ready")
    post = demo.url("/demo/printers/kiosk-1f-a")
    assert requests.post(post, data={"paper": "wet"}, timeout=10).status_code == 404
    assert requests.post(demo.url("/demo/printers/display-1f"), data={"paper": "out"},
                         timeout=10).status_code == 404  # fmt: skip
    other = requests.post(post, data={"paper": "out"}, headers={"Origin": "http://evil.example"},
                          allow_redirects=False, timeout=10)  # fmt: skip
    assert other.status_code == 403
    cross = requests.post(post, data={"paper": "out"}, headers={"Sec-Fetch-Site": "cross-site"},
                          allow_redirects=False, timeout=10)  # fmt: skip
    assert cross.status_code == 403
    assert demo.printer("kiosk-1f-a").get("paper") != "out"


@pytest.mark.browser
def test_the_demo_desk_in_a_browser_sets_the_paper_and_lists_what_was_sent(
    demo: DemoRun, page: Any
) -> None:
    kiosk = "kiosk-2f-a"
    until(lambda: printer_ready(demo, kiosk), WAIT_S, what=f"{kiosk}'s printer ready")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(demo.url("/demo"))
    assert page.locator("h1").inner_text().startswith("演示台")
    try:
        page.click(f'[data-kiosk="{kiosk}"] button[value="out"]')
        assert "已通知" in page.locator(".sent").inner_text()

        # The desk updates itself: the printer's report and the alarm appear without a reload.
        state = page.locator(f'[data-kiosk="{kiosk}"] .state[data-paper="out"]')
        state.wait_for(timeout=WAIT_S * 1000)
        assert "缺纸" in state.inner_text()
        page.locator("#alarms li", has_text="2楼电梯厅自助机").wait_for(timeout=WAIT_S * 1000)
        page.click(f'[data-kiosk="{kiosk}"] button[value="ok"]')
        page.locator(f'[data-kiosk="{kiosk}"] .state[data-paper="ok"]').wait_for(
            timeout=WAIT_S * 1000
        )
        alarm = page.locator("#alarms li", has_text="2楼电梯厅自助机")
        alarm.wait_for(state="detached", timeout=WAIT_S * 1000)  # cleared, shown so unasked
        page.click(f'[data-kiosk="{kiosk}"] button[value="out"]')
        alarm.wait_for(timeout=WAIT_S * 1000)
        shoot(page, "desk", full_page=True)
        problems = axe_violations(page)  # nothing serious or critical, contrast 4.5:1
        assert not problems, "\n".join(problems)
        small = small_touch_targets(page, 48)
        assert not small, "\n".join(small)
    finally:
        demo.paper(kiosk, "ok")


# ---------------------------------------------------------------- in process


def report(hall: HallRig, part: str, health: str, message: str = "") -> None:
    answer = hall.post("kiosk-1", "/devices/status", {
        "part": part, "status": {"health": health, "online": True, "message": message},
    })  # fmt: skip
    assert answer.status_code == 200, answer.get_json()


def printer_alarms(hall: HallRig) -> list[tuple[str, str, str]]:
    return [(e["type"], e["subject"], e.get("level", "")) for e in check_alarms(hall.ctx)]


def test_a_printer_back_to_low_clears_its_paper_out_alarm_and_raises_paper_low(
    hall: HallRig,
) -> None:
    subject = "device:kiosk-1/printer"
    report(hall, "printer", "fault", "打印机缺纸 / Printer out of paper")
    assert printer_alarms(hall) == [("alarm.raised", subject, "red")]
    [alarm] = hall.get("boss", "/alarms").get_json()["alarms"]
    assert alarm["message"] == (  # each language once
        "设备kiosk-1（printer）：打印机缺纸 (device kiosk-1 printer: Printer out of paper)"
    )
    report(hall, "printer", "warning", "打印机纸将用尽 / Printer paper low")
    assert printer_alarms(hall) == [
        ("alarm.cleared", subject, ""),
        ("alarm.raised", subject, "yellow"),
    ]
    assert printer_alarms(hall) == []  # settled
    report(hall, "printer", "fault", "打印机缺纸 / Printer out of paper")
    assert [e[0] for e in printer_alarms(hall)] == ["alarm.raised"]  # escalated in place
    report(hall, "printer", "ok", "打印机正常 / Printer ready")
    assert printer_alarms(hall) == [("alarm.cleared", subject, "")]


def test_a_printer_back_to_ok_also_clears_the_alarm_of_a_print_that_failed_for_it(
    hall: HallRig,
) -> None:
    report(hall, "printer", "fault", "打印机缺纸 / Printer out of paper")
    report(hall, "print", "fault", "kiosk-1 打印 A001 失败：打印机缺纸")
    assert {e[1] for e in printer_alarms(hall)} == {
        "device:kiosk-1/printer",
        "device:kiosk-1/print",
    }
    report(hall, "printer", "warning", "打印机纸将用尽 / Printer paper low")
    events = printer_alarms(hall)
    assert ("alarm.cleared", "device:kiosk-1/print", "") in events
    assert ("alarm.raised", "device:kiosk-1/printer", "yellow") in events
    devices = hall.get("root", "/admin/devices").get_json()["devices"]
    [kiosk] = [d for d in devices if d["name"] == "kiosk-1"]
    assert kiosk["status"]["print"]["health"] == "ok"


def test_the_sentence_of_a_kiosk_that_cannot_print_names_the_others_by_place() -> None:
    state = {"message": "打印机缺纸 / Printer out of paper"}
    others = [
        {"name": "kiosk-1f-b", "place": "1楼入口西侧自助机"},
        {"name": "kiosk-9", "place": ""},  # no label, floor or zone: its name is all there is
    ]
    assert unavailable_message(state, others) == (
        "本机暂停取号：打印机缺纸。请到其他取号机取号：1楼入口西侧自助机、kiosk-9 "
        "(This kiosk cannot print now: Printer out of paper; "
        "please use another kiosk: 1楼入口西侧自助机, kiosk-9)."
    )


@pytest.mark.browser
def test_a_tv_revoked_while_open_says_so_as_the_server_closes_it(
    live_hall: LiveHall, page: Any
) -> None:
    page.goto(live_hall.url(f"/display/tv-1?token={live_hall.tokens['tv-1']}"))
    page.locator("#conn[data-up=true]").wait_for(timeout=WAIT_S * 1000)
    assert live_hall.api("root", "POST", "/admin/devices/tv-1/revoke").ok
    # The server closes the socket (within TOKEN_RECHECK_S) and says why: the page tells the
    # visitor then. It used to show "reconnecting" for good: no call of its answered 401.
    page.locator("#message", has_text=REVOKED).wait_for(timeout=WAIT_S * 1000)
    assert page.locator("#offline").is_hidden()
