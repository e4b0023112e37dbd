"""Building the package: the pages' npm libraries go into every wheel and sdist.

The pages load Socket.IO's client and ECharts from /static/vendor/ (never from a CDN: halls
run on closed intranets). Those files are built from npm by ``.ci/build-frontend`` and are not
kept in git. A hall server has no npm, so the wheel is built where npm is (CI, a build
machine) and carries them: this build step runs ``.ci/build-frontend`` when the source tree
has it (a no-op once built), and refuses to build a package without them, rather than ship
pages that fail with "io is not defined". The committed defaults (config/) go in as well.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
VENDOR = HERE / "hall_server" / "web" / "static" / "vendor"
# Every file the pages load from /static/vendor/ (tests/test_wheel.py checks the templates).
VENDOR_FILES = ("socket.io.min.js", "echarts.min.js")
# (axe-core, also from npm, is for the browser tests only: not served, not in the wheel.)


def ensure_vendor_files() -> None:
    build_frontend = HERE / ".ci" / "build-frontend"
    if build_frontend.exists() and shutil.which("npm"):
        subprocess.run(["bash", str(build_frontend)], check=True)
    missing = [name for name in VENDOR_FILES if not (VENDOR / name).is_file()]
    if missing:
        raise SystemExit(
            f"构建失败：页面所需的前端库缺失 {', '.join(missing)}；请在有 npm 的机器上先运行 "
            f".ci/build-frontend (the pages' libraries are missing from {VENDOR}: run "
            ".ci/build-frontend where npm is installed, then build the package again)"
        )


class BuildWithVendor(build_py):
    def run(self) -> None:
        ensure_vendor_files()
        super().run()
        # The committed defaults and the demo hall (config/): an installed copy reads them
        # from hall_server/config/ (hall_server/settings/base.py).
        if not self.dry_run:
            shutil.copytree(HERE / "config", Path(self.build_lib) / "hall_server" / "config",
                            dirs_exist_ok=True)  # fmt: skip


setup(cmdclass={"build_py": BuildWithVendor})
