"""The hall's JSON API as one device token sees it: one session, the base URL, the bearer.

An error answer raises ``ApiError`` with the server's own sentence (Chinese first); no answer
raises ``Unreachable``::

    api = HallApi("http://hall:5000", token)
    desk = api.call("GET", "/windows/2/desk")
    api.call("POST", "/windows/2/call-next", key=uuid.uuid4().hex)   # Idempotency-Key
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from ..contract import API_PREFIX


class ApiError(Exception):
    """The server answered with an error; ``str()`` is its sentence."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    @property
    def refused(self) -> bool:
        """The server does not take this token (unknown, revoked, or not this device's)."""
        return self.status in (401, 403, 404)


class Unreachable(Exception):
    """The server did not answer."""


class HallApi:
    """The hall's JSON API (``/api/v1``) with one device token."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout_s: float = 5.0,
        session: requests.Session | None = None,
    ) -> None:
        """Talk to the server at ``base_url`` with device ``token``."""
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s
        self.session = session or requests.Session()

    def request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        key: str = "",
        params: Mapping[str, str] | None = None,
        timeout_s: float | None = None,
    ) -> requests.Response:
        """Send one request to ``/api/v1`` + ``path``; return the answer if it is a success.

        Raise ApiError for an error answer, Unreachable for none.
        """
        headers = {"Authorization": f"Bearer {self.token}"}
        if key:
            headers["Idempotency-Key"] = key
        try:
            response = self.session.request(
                method,
                self.base_url + API_PREFIX + path,
                json=dict(body) if body is not None else None,
                params=dict(params) if params is not None else None,
                headers=headers,
                timeout=self.timeout_s if timeout_s is None else timeout_s,
            )
        except requests.RequestException as exc:
            raise Unreachable(f"服务器无应答 (no answer from the server): {exc}") from exc
        if not response.ok:
            try:
                data = response.json()
            except ValueError:
                data = {}
            error = data.get("error", {}) if isinstance(data, dict) else {}
            error = error if isinstance(error, dict) else {}
            raise ApiError(
                response.status_code,
                str(error.get("code", "error")),
                str(error.get("message") or f"HTTP {response.status_code} {response.reason}"),
            )
        return response

    def call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        key: str = "",
        timeout_s: float | None = None,
    ) -> dict[str, Any]:
        """Send one request and return its JSON object (``{}`` for an answer without one)."""
        response = self.request(method, path, body, key=key, timeout_s=timeout_s)
        try:
            data = response.json()
        except ValueError:
            data = {}
        return data if isinstance(data, dict) else {}

    def close(self) -> None:
        """Close the session's connections."""
        self.session.close()
