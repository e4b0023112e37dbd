"""Every page has a favicon: one SVG from static, linked in the one base template."""

from __future__ import annotations

import re

import pytest

from tests.hall_server.hall import HallRig

from .test_browser_defences import PAGES

ICON = "/static/favicon.svg"


@pytest.mark.parametrize("path", [*PAGES, "/t/a-ticket-token"])
def test_every_page_links_the_favicon(hall: HallRig, path: str) -> None:
    response = hall.client.get(path)
    assert response.status_code == 200, path
    links = re.findall(r'<link rel="icon" href="([^"]+)"', response.get_data(as_text=True))
    assert links == [ICON], path


def test_the_favicon_is_served_as_svg_under_the_policy(hall: HallRig) -> None:
    response = hall.client.get(ICON)
    body = response.get_data(as_text=True)
    response.close()  # a static file answers with an open file
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert body.startswith("<svg")
    assert "'self'" in response.headers["Content-Security-Policy"]
