"""Browser defences sent with every answer: a strict Content-Security-Policy and friends.

The pages run only the hall's own script files (no inline script, no inline handler, no
``eval``), take their style only from the hall's own style sheets, load nothing from another
site (the hall runs offline on its intranet), and cannot be framed by any page.
"""

from __future__ import annotations

import re

from flask import Flask, Response, request

# Scripts talk to this server only: fetch/XHR and the Socket.IO websocket (ws:/wss: of this
# host are added per request — 'self' covers them in CSP 3 browsers, not in older ones).
POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    # The favicon is /static/favicon.svg; QR codes are /t/<token>/qr.svg; data: stays allowed.
    "img-src": "'self' data:",
    # blob: for the TV's announcement WAVs (fetched with the device token, played from a blob).
    "media-src": "'self' blob:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
HOST = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # The mobile ticket's address (/t/<token>) is its secret: never send it on as a referrer.
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
}


def content_security_policy(host: str) -> str:
    """Return the policy for a page served under ``host`` (the request's Host)."""
    policy = dict(POLICY)
    if HOST.match(host):
        policy["connect-src"] = f"'self' ws://{host} wss://{host}"
    return "; ".join(f"{name} {value}" for name, value in policy.items())


def add_browser_defences(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", content_security_policy(request.host))
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def init_browser_defences(app: Flask) -> None:
    """Send the defences with every answer of ``app`` (pages, static files, API)."""
    app.after_request(add_browser_defences)
