"""The installable package (wheel) carries the pages' npm libraries.

A hall server has no npm: it installs a wheel built elsewhere. The wheel must therefore hold
every file the pages load from /static/vendor/, and ``hall serve`` run from an installed
copy (not this source tree) must serve them — else the pages fail with "io is not defined".
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.hall_server.hall import SMALL_HALL
from tests.support.polling import until
from tests.support.ports import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "hall_server" / "web" / "static" / "vendor"
TEMPLATE_DIRS = ("hall_server", "kiosk", "display", "window_client")
SKIP = shutil.ignore_patterns(".git", ".venv", "node_modules", "build", "var", "*.egg-info",
                              "__pycache__", ".*_cache", "tests", "benchmarks", "docs")  # fmt: skip


def _vendor_files_the_pages_load() -> set[str]:
    found: set[str] = set()
    for top in TEMPLATE_DIRS:
        for page in (ROOT / top).rglob("*.html"):
            found |= set(re.findall(r"/static/vendor/([\w.\-]+)", page.read_text()))
    return found


def _source_copy(tmp_path: Path) -> Path:
    """The source tree as a checkout has it (plus the built vendor files, when built)."""
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=SKIP)
    return source


def _build_wheel(source: Path, out: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "-q", "-w", str(out), str(source)],
        capture_output=True, text=True, timeout=120, check=False, env=env,
    )  # fmt: skip


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not all((VENDOR / name).is_file() for name in _vendor_files_the_pages_load()):
        pytest.fail("run .ci/build-frontend first (.ci/run does): the vendor files are missing")
    tmp = tmp_path_factory.mktemp("wheel")
    built = _build_wheel(_source_copy(tmp), tmp / "dist")
    assert built.returncode == 0, built.stderr
    (found,) = (tmp / "dist").glob("smart_service_hall-*.whl")
    return found


def test_the_wheel_holds_every_library_the_pages_load_and_no_npm_sources(wheel: Path) -> None:
    wanted = _vendor_files_the_pages_load()
    assert {"socket.io.min.js", "echarts.min.js"} <= wanted
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in wanted:
        packed = zipfile.ZipFile(wheel).read(f"hall_server/web/static/vendor/{name}")
        assert packed == (VENDOR / name).read_bytes(), name
    assert not [name for name in names if "node_modules" in name or "/frontend/" in name]


def test_a_build_without_the_libraries_is_refused_with_the_reason(tmp_path: Path) -> None:
    source = _source_copy(tmp_path)
    shutil.rmtree(source / "hall_server" / "web" / "static" / "vendor", ignore_errors=True)
    (source / ".ci" / "build-frontend").unlink()  # as on a machine that cannot run npm
    built = _build_wheel(source, tmp_path / "dist")
    assert built.returncode != 0
    assert "run .ci/build-frontend where npm is installed" in built.stdout + built.stderr
    assert not list((tmp_path / "dist").glob("*.whl")) if (tmp_path / "dist").exists() else True


@pytest.fixture
def installed(wheel: Path, tmp_path: Path) -> Iterator[Path]:
    """A fresh virtualenv with the wheel installed offline; the dependencies come from the
    test's own environment (its site-packages on the path: no network, no second install)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=60)  # fmt: skip
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
                    "install", "-q", "--no-deps", "--no-index", str(wheel)],
                   check=True, timeout=120)  # fmt: skip
    (site,) = venv.glob("lib/python3*/site-packages")
    deps = [path for path in sys.path if path.endswith("site-packages")]
    (site / "hall-dependencies.pth").write_text("\n".join(deps) + "\n")
    yield venv


def test_hall_serve_from_the_installed_wheel_serves_the_pages_libraries(
    installed: Path, tmp_path: Path
) -> None:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    python = str(installed / "bin" / "python")
    where = subprocess.run(
        [python, "-c", "import hall_server; print(hall_server.__file__)"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    assert where.startswith(str(installed)), f"imported from {where}, not from the install"

    port = free_port()
    env |= {"HALL_CONFIG": str(SMALL_HALL), "HALL_VAR_DIR": str(tmp_path / "var"),
            "HALL_SECRET_KEY": "wheel-test-secret", "HALL_PORT": str(port)}  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    with (tmp_path / "serve.log").open("wb") as log:
        server = subprocess.Popen(
            [str(installed / "bin" / "hall"), "serve", "--host", "127.0.0.1"],
            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def answers() -> bool:
        assert server.poll() is None, (tmp_path / "serve.log").read_text()
        try:
            return requests.get(base + "/api/v1/health", timeout=2).ok
        except requests.ConnectionError:
            return False

    try:
        until(answers, 30, what="hall serve from the installed wheel answering")
        for name in _vendor_files_the_pages_load():
            response = requests.get(f"{base}/static/vendor/{name}", timeout=10)
            assert response.status_code == 200, name
            assert response.content == (VENDOR / name).read_bytes(), name
        page = requests.get(base + "/display/tv-1", timeout=10)
        assert page.status_code == 200 and "/static/vendor/socket.io.min.js" in page.text
    finally:
        server.terminate()
        server.wait(timeout=20)
