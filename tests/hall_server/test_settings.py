"""Hall configuration: layering, the demo hall, and loud, precise errors."""

import copy
import re
import tomllib
from pathlib import Path
from typing import Any

import pydantic
import pytest
import tomli_w

from hall_server.settings import (
    DEFAULTS_FILE,
    DEMO_HALL_FILE,
    REPO_ROOT,
    ConfigError,
    HallConfig,
    Settings,
    dump_hall_toml,
    load_settings,
    parse_hall_toml,
)

SMALL_HALL: dict[str, Any] = {
    "code": "small",
    "name": "小镇便民服务中心",
    "name_en": "Small Town Service Center",
    "services": [
        {
            "code": "shebao",
            "name": "社会保障",
            "name_en": "Social Insurance",
            "category": "社保医保",
            "prefix": "A",
            "zone": "A区",
            "floor": 1,
        },
        {
            "code": "huji",
            "name": "户籍办理",
            "name_en": "Household Registration",
            "category": "公安服务",
            "prefix": "B",
            "number_end": 200,
            "daily_cap": 100,
            "zone": "B区",
            "floor": 1,
        },
    ],
    "windows": [
        {"number": 1, "zone": "A区", "floor": 1, "general": True},
        {"number": 2, "zone": "A区", "floor": 1, "services": {"shebao": 3}},
        {"number": 3, "zone": "B区", "floor": 1, "services": {"huji": 3, "shebao": 1}},
    ],
    "devices": [{"name": "kiosk-a", "kind": "kiosk", "options": {"printer": {"type": "fake"}}}],
}


def write_site(tmp_path: Path, hall: dict[str, Any], **tables: Any) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(tomli_w.dumps({"hall": hall, **tables}), encoding="utf-8")
    return path


def load_small(tmp_path: Path, hall: dict[str, Any] | None = None, **kw: Any) -> Settings:
    path = write_site(tmp_path, SMALL_HALL if hall is None else hall)
    return load_settings({"config_path": str(path), **kw}, environ={})


def config_error(tmp_path: Path, hall: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        load_small(tmp_path, hall)
    return str(caught.value)


# ---------------------------------------------------------------- defaults


def test_committed_defaults_apply_where_the_site_file_is_silent(tmp_path: Path) -> None:
    settings = load_small(tmp_path)

    assert settings.server.host == "127.0.0.1"
    assert settings.server.port == 5000
    assert settings.server.database_url == ""
    assert settings.server.async_mode == "gevent"
    assert settings.hall.timezone == "Asia/Shanghai"
    assert settings.hall.policy.priority_swap_ratio == 3
    assert settings.hall.policy.no_show_requeue == "after_n"
    assert settings.hall.voice.template == "请{number}号到{floor}{window}号窗口办理"
    assert settings.hall.alarms.wait_red_min == 40
    assert settings.hall.issuing.elderly_age == 65
    shebao = settings.hall.service("shebao")
    assert shebao.hours == (("08:30", "12:00"), ("13:30", "17:30"))
    assert shebao.weekdays == (1, 2, 3, 4, 5)
    assert shebao.guide.fee == ""  # not invented: the kiosk says "ask at the desk"


def test_default_toml_agrees_with_the_model_defaults() -> None:
    # Hall files parsed without default.toml (model defaults) must mean the same thing.
    committed = tomllib.loads(DEFAULTS_FILE.read_text(encoding="utf-8"))
    settings = load_settings({"config_path": str(DEMO_HALL_FILE)}, environ={})
    assert committed["server"] == type(settings.server)().model_dump()
    for table, value in committed["hall"].items():
        model = type(getattr(settings.hall, table))
        assert value == model().model_dump(), table


def test_every_committed_default_is_explained_on_its_line() -> None:
    for line in DEFAULTS_FILE.read_text(encoding="utf-8").splitlines():
        if re.match(r"\w+\s*=", line):
            assert "#" in line, f"no comment on: {line}"


def test_server_var_dir_is_relative_to_the_repository(tmp_path: Path) -> None:
    assert load_small(tmp_path).server.var_path == REPO_ROOT / "var"
    other = load_small(tmp_path, server={"var_dir": str(tmp_path / "v")})
    assert other.server.var_path == tmp_path / "v"


# ---------------------------------------------------------------- the demo hall


@pytest.fixture(scope="module")
def demo() -> HallConfig:
    return load_settings(environ={}).hall


def test_demo_hall_is_the_default_site(demo: HallConfig) -> None:
    assert demo.code == "demo"
    assert demo.name == "示范市政务服务中心"
    assert demo.name_en == "Demo City Government Service Center"
    assert 2 <= len(demo.notices) <= 3


def test_demo_hall_offers_the_services_of_a_city_hall(demo: HallConfig) -> None:
    names = {service.name for service in demo.services}
    for expected in ("社会保障", "医疗保障", "住房公积金", "不动产登记", "户籍办理", "婚姻登记"):
        assert expected in names
    assert len(demo.services) >= 12
    assert {service.floor for service in demo.services} == {1, 2}
    assert demo.service("shebao").prefix == "A"
    for service in demo.services:
        assert service.daily_cap is None or service.daily_cap <= service.number_end
        if service.code != "zixun":
            assert any("身份证" in item for item in service.guide.materials), service.code
            assert service.guide.time_limit


def test_demo_hall_hours_follow_the_real_week(demo: HallConfig) -> None:
    marriage, exit_entry = demo.service("hunyin"), demo.service("churujing")
    assert marriage.hours_on(3) == (("08:30", "12:00"),)  # no Wednesday afternoon
    assert marriage.hours_on(2)[-1][1] == "17:30"
    assert exit_entry.hours_on(6) == (("09:00", "12:00"),)  # Saturday morning
    assert exit_entry.hours_on(7) == ()
    assert demo.service("shebao").hours_on(6) == ()
    lunch_closed = [service for service in demo.services if len(service.hours) == 2]
    assert lunch_closed and len(lunch_closed) < len(demo.services)


def test_demo_hall_windows_have_skills(demo: HallConfig) -> None:
    assert len(demo.windows) >= 18
    general = [window for window in demo.windows if window.general]
    assert 2 <= len(general) <= 3
    five = demo.window(5)
    assert five.name == "5号窗口"
    assert five.weight_for("shebao") == 3
    assert five.weight_for("yibao") == 1
    assert five.weight_for("hunyin") is None
    for service in demo.services:
        specialists = [w for w in demo.windows if not w.general and w.weight_for(service.code)]
        assert specialists, f"only general windows serve {service.code}"


def test_demo_hall_devices(demo: HallConfig) -> None:
    devices = {device.name: device for device in demo.devices}
    kiosks = [device for device in demo.devices if device.kind == "kiosk"]
    assert {kiosk.name for kiosk in kiosks} == {"kiosk-1f-a", "kiosk-1f-b", "kiosk-2f-a"}
    assert all(kiosk.options["printer"] == {"type": "fake"} for kiosk in kiosks)
    assert devices["display-1f"].layout == "all"
    assert (devices["display-2f"].layout, devices["display-2f"].floor) == ("floor", 2)
    led = devices["led-agent-1f"]
    assert led.kind == "agent"
    assert {strip["window"] for strip in led.options["strips"]} == set(led.windows)
    assert led.options["board"]["sign"] == {"type": "fake"}
    evaluators = [device for device in demo.devices if device.kind == "evaluator"]
    assert len(evaluators) >= 3
    assert all(len(device.windows) == 1 for device in evaluators)


# ---------------------------------------------------------------- layering


def test_environment_overrides_the_site_file(tmp_path: Path) -> None:
    path = write_site(tmp_path, SMALL_HALL, server={"port": 8000, "host": "0.0.0.0"})
    environ = {
        "HALL_CONFIG": str(path),
        "HALL_DATABASE_URL": "postgresql+psycopg://hall@127.0.0.1/hall",
        "HALL_MESSAGE_QUEUE": "redis://127.0.0.1:6379/0",
        "HALL_SECRET_KEY": "s3cret",
        "HALL_PORT": "8080",
        "HALL_VAR_DIR": "/srv/hall/var",
    }
    server = load_settings(environ=environ).server

    assert server.database_url == "postgresql+psycopg://hall@127.0.0.1/hall"
    assert server.message_queue == "redis://127.0.0.1:6379/0"
    assert server.secret_key == "s3cret"
    assert server.port == 8080
    assert server.host == "0.0.0.0"  # the site file still counts where env is silent
    assert server.var_dir == "/srv/hall/var"


def test_environ_defaults_to_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HALL_CONFIG", str(write_site(tmp_path, SMALL_HALL)))
    monkeypatch.setenv("HALL_HOST", "10.1.2.3")
    settings = load_settings()
    assert (settings.hall.code, settings.server.host) == ("small", "10.1.2.3")


def test_test_config_wins_and_merges_deeply(tmp_path: Path) -> None:
    path = write_site(tmp_path, SMALL_HALL)
    settings = load_settings(
        {
            "config_path": str(path),
            "server": {"port": 6001},
            "hall": {"policy": {"aging_min": 5}, "notices": ["今日系统维护"]},
        },
        environ={"HALL_PORT": "7000"},
    )
    assert settings.server.port == 6001
    assert settings.hall.policy.aging_min == 5
    assert settings.hall.policy.max_recalls == 3  # sibling keys survive the merge
    assert settings.hall.notices == ("今日系统维护",)  # lists replace
    assert len(settings.hall.services) == 2


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load_small(tmp_path)
    with pytest.raises(pydantic.ValidationError):
        settings.server.port = 1  # type: ignore[misc]


# ---------------------------------------------------------------- errors


def test_unknown_key_names_the_key_and_the_file(tmp_path: Path) -> None:
    hall = copy.deepcopy(SMALL_HALL)
    hall["services"][1]["avg_handle_mins"] = 9
    message = config_error(tmp_path, hall)
    assert f"{tmp_path / 'site.toml'}: hall.services[1].avg_handle_mins: unknown key" in message
    assert 'did you mean "avg_handle_min"' in message


def test_unknown_key_in_test_config_names_test_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"test_config: server\.colour: unknown key"):
        load_small(tmp_path, server={"colour": "red"})


def test_missing_key_names_the_site_file(tmp_path: Path) -> None:
    hall = copy.deepcopy(SMALL_HALL)
    del hall["code"], hall["windows"][0]["zone"]
    message = config_error(tmp_path, hall)
    assert f"{tmp_path / 'site.toml'}: hall.code: missing" in message
    assert "hall.windows[0].zone: missing" in message


def test_bad_environment_value_names_the_variable(tmp_path: Path) -> None:
    path = write_site(tmp_path, SMALL_HALL)
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"HALL_CONFIG": str(path), "HALL_PORT": "80a"})
    assert "environment HALL_PORT: server.port: " in str(caught.value)
    assert '(got "80a")' in str(caught.value)


def test_missing_site_file_says_where_the_path_came_from(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"file not found.*HALL_CONFIG"):
        load_settings(environ={"HALL_CONFIG": str(tmp_path / "nowhere.toml")})


def test_broken_toml_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text("[hall\ncode = 1", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"site\.toml: not valid TOML"):
        load_settings({"config_path": str(path)}, environ={})


def _set(hall: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = re.findall(r"\w+", dotted)
    target: Any = hall
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[int(last) if last.isdigit() else last] = value


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        (
            "services.1.prefix",
            "a1",
            'services[1].prefix: must be 1-2 capital letters (got "a1")',
        ),
        (
            "services.0.hours",
            [["08:30", "12:00"], ["11:30", "17:30"]],
            "services[0].hours: periods must be in time order and must not overlap",
        ),
        ("services.0.hours", [["8:30", "12:00"]], 'services[0].hours: times must be "HH:MM"'),
        ("services.0.hours", [["24:00", "24:00"]], "services[0].hours: each period must start"),
        ("services.0.hours", [["08:30", "24:01"]], 'services[0].hours: times must be "HH:MM"'),
        (
            "windows.2.services",
            {"huji": 3, "hujii": 1},
            'windows[2].services.hujii: unknown service "hujii"; did you mean "huji"?',
        ),
        ("windows.2.number", 2, "windows[2].number: duplicate number 2 (also windows[1])"),
        (
            "services.1.daily_cap",
            201,
            "services[1].daily_cap: must not exceed the 200 numbers",
        ),
        ("services.1.prefix", "A", 'services[1].prefix: duplicate prefix "A"'),
        ("services.1.number_end", 1000, "services[1].digits: too few for number_end 1000"),
        ("windows.1.services", {}, "windows[1].services: a window that is not general"),
        ("windows.2.services", {"huji": 11}, "windows[2].services.huji: "),
        ("devices.0.windows", [9], "devices[0].windows[0]: no window number 9"),
        ("windows", [], "windows: Tuple should have at least 1 item"),
        ("timezone", "Asia/Beijing", "timezone: unknown time zone"),
        ("voice", {"template": "请{number}号"}, "voice.template: must use the placeholders"),
    ],
)
def test_bad_values_stop_start_up_with_the_dotted_key(
    tmp_path: Path, key: str, value: Any, expected: str
) -> None:
    hall = copy.deepcopy(SMALL_HALL)
    _set(hall, key, value)
    assert f"{tmp_path / 'site.toml'}: hall.{expected}" in config_error(tmp_path, hall)


def test_a_service_no_window_serves_is_refused(tmp_path: Path) -> None:
    hall = copy.deepcopy(SMALL_HALL)
    hall["windows"] = hall["windows"][1:2]
    assert 'hall.services[1]: no window serves "huji"' in config_error(tmp_path, hall)


def test_every_bad_key_is_listed_at_once(tmp_path: Path) -> None:
    hall = copy.deepcopy(SMALL_HALL)
    hall["services"][0]["prefix"] = "a1"
    hall["services"][1]["daily_cap"] = 999
    hall["windows"][2]["number"] = 1
    hall["windows"][2]["services"] = {"huji": 3, "nosuch": 1}
    message = config_error(tmp_path, hall)
    assert message.startswith("invalid configuration (4 problems):")
    for key in (
        "hall.services[0].prefix",
        "hall.services[1].daily_cap",
        "hall.windows[2].number",
        "hall.windows[2].services.nosuch",
    ):
        assert key in message


# ---------------------------------------------------------------- hall files


def test_dump_and_parse_round_trip_the_demo_hall(demo: HallConfig) -> None:
    text = dump_hall_toml(demo)
    assert parse_hall_toml(text, "export.toml") == demo
    assert "示范市政务服务中心" in text


def test_parse_hall_toml_reads_a_site_file_and_applies_defaults() -> None:
    text = tomli_w.dumps({"hall": SMALL_HALL})
    hall = parse_hall_toml(text)
    assert hall.policy.aging_min == 20
    assert parse_hall_toml(dump_hall_toml(hall)) == hall


def test_parse_hall_toml_errors_name_the_source() -> None:
    hall = copy.deepcopy(SMALL_HALL)
    hall["services"][0]["prefix"] = "a1"
    with pytest.raises(ConfigError, match=r"upload\.toml: hall\.services\[0\]\.prefix"):
        parse_hall_toml(tomli_w.dumps({"hall": hall}), "upload.toml")
    with pytest.raises(ConfigError, match=r"upload\.toml: not valid TOML"):
        parse_hall_toml("hall = [", "upload.toml")


def test_hall_lookups_explain_a_wrong_name(demo: HallConfig) -> None:
    with pytest.raises(KeyError, match='unknown service "shebo"; did you mean "shebao"'):
        demo.service("shebo")
    with pytest.raises(KeyError, match="no window number 99"):
        demo.window(99)
    general = demo.window(2)
    assert general.general and general.weight_for("hunyin") == 1
    assert demo.window(1).weight_for("zixun") == 2  # a listed weight beats the general 1
