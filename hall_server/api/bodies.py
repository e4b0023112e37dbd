"""Request bodies are bounded before any view reads them: 413, in Chinese and English.

Every JSON body of the API is well under 4 KB, so a request may carry at most
``server.MAX_BODY_BYTES`` (64 KB) unless its view is marked ``@large_body(n)`` (the admin's
TOML import, the appointments CSV). A body announced larger is refused before it is read; a
chunked body (no Content-Length) is read up to the limit and refused if it goes on — werkzeug
alone would cut it there silently, and the view would see a truncated body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge

from ..server import MAX_BODY_BYTES

F = TypeVar("F", bound=Callable[..., Any])


def large_body(limit_bytes: int) -> Callable[[F], F]:
    """Let the decorated view take a body of up to ``limit_bytes``."""

    def mark(view: F) -> F:
        view.max_body_bytes = limit_bytes  # type: ignore[attr-defined]
        return view

    return mark


def init_body_limits(app: Flask) -> None:
    """Bound every request's body: the app's default, or its view's ``@large_body``."""
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES

    @app.before_request
    def _bound_the_body() -> None:
        view = app.view_functions.get(request.endpoint or "")
        limit = getattr(view, "max_body_bytes", MAX_BODY_BYTES)
        request.max_content_length = limit
        if request.content_length is not None:
            if request.content_length > limit:
                raise RequestEntityTooLarge()  # refused by its header, never read
        elif request.headers.get("Transfer-Encoding", "").lower() == "chunked":
            request.get_data(cache=True)  # at most ``limit`` bytes …
            request.stream.read(1)  # … and one more raises 413 when the body goes on
