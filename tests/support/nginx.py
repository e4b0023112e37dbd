"""A throwaway nginx on 127.0.0.1 in front of hall servers, run from a shipped site config.

with nginx_server(tmp_path, site_config(POOL_CONF, [5001, 5002])) as base_url:
    requests.get(base_url + "/api/v1/health")

The site file of ``docs/deploy/`` is used as shipped; only the lines marked
``# hall-pool: servers`` (the upstream's processes) and ``# hall-pool: listen`` are replaced.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

from .polling import until
from .ports import free_port

ROOT = Path(__file__).resolve().parents[2]
POOL_CONF = ROOT / "docs" / "deploy" / "hall-pool.nginx.conf"
ONE_BOX_CONF = ROOT / "docs" / "deploy" / "hall.nginx.conf"


def site_config(shipped: Path, upstream_ports: Sequence[int], listen_port: int) -> str:
    """The shipped site file with its upstream servers and its listen line set for a test."""
    text = shipped.read_text()
    servers = re.findall(r"^( *)server (\S+)(.*?);.*# hall-pool: servers$", text, re.M)
    assert servers, f"{shipped} has no line marked '# hall-pool: servers'"
    indent, _, options = servers[0]
    lines = "".join(f"{indent}server 127.0.0.1:{port}{options};\n" for port in upstream_ports)
    text = re.sub(r"^ *server \S+.*# hall-pool: servers\n", "", text, flags=re.M)
    text = re.sub(r"^( *upstream hall \{\n)", lambda m: m.group(1) + lines, text, flags=re.M)
    text, found = re.subn(r"^( *)listen \S+;.*# hall-pool: listen$",
                          rf"\1listen 127.0.0.1:{listen_port};", text, flags=re.M)  # fmt: skip
    assert found == 1, f"{shipped} has no line marked '# hall-pool: listen'"
    return text


def access_log(workdir: Path) -> list[tuple[str, str, str, str]]:
    """(method, URI, upstream address(es), status) of each request nginx has logged."""
    path = workdir / "nginx" / "access.log"
    lines = path.read_text().splitlines() if path.exists() else []
    return [(m, uri, ups, status) for m, uri, ups, status in (line.split(" ", 3) for line in lines)]


@contextlib.contextmanager
def nginx_server(
    workdir: Path, shipped: Path, upstream_ports: Sequence[int], program: str = "nginx"
) -> Iterator[str]:
    """Start nginx with its own prefix under ``workdir`` serving ``shipped`` (a site file of
    docs/deploy/) in front of ``upstream_ports``; yield its base URL; stop it at the end.
    Its access log (``access_log(workdir)``) says which process took each request."""
    prefix = workdir / "nginx"
    for temp in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / "temp" / temp).mkdir(parents=True, exist_ok=True)
    port = free_port()
    (prefix / "site.conf").write_text(site_config(shipped, upstream_ports, port))
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must write the temp dirs
    temps = "".join(f"{name}_temp_path {prefix}/temp/{name.split('_')[-1]};\n"
                    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))  # fmt: skip
    (prefix / "nginx.conf").write_text(
        f"{user}daemon off;\nworker_processes 1;\npid {prefix}/nginx.pid;\n"
        f"error_log {prefix}/error.log info;\n"
        "events { worker_connections 512; }\n"
        "http {\nlog_format upstreams '$request_method $request_uri $upstream_addr $status';\n"
        f"access_log {prefix}/access.log upstreams;\n{temps}include {prefix}/site.conf;\n}}\n"
    )
    checked = subprocess.run(
        [program, "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
         "-e", str(prefix / "error.log")],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, f"nginx -t refused {shipped}:\n{checked.stderr}"
    server = subprocess.Popen(
        [program, "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
         "-e", str(prefix / "error.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip

    def listens() -> bool:
        assert server.poll() is None, (prefix / "error.log").read_text(errors="replace")
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True

    try:
        until(listens, 20, what="nginx listening")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()  # SIGTERM: fast shutdown of the master and its worker
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
