"""Every API error leaves as ``{"error": {"code", "message"}}`` with its status, mapped once."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from pydantic import ValidationError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from ..domain import errors as domain

log = logging.getLogger(__name__)

STATUS: dict[type[domain.DomainError], int] = {
    domain.NotFound: 404,
    domain.InvalidInput: 422,
    domain.Forbidden: 403,
    domain.RateLimited: 429,
}


class BadRequest(domain.DomainError):
    """The request itself is malformed (HTTP 400)."""

    code = "bad_request"


def error_response(status: int, code: str, message: str, **extra: Any) -> tuple[Response, int]:
    return jsonify({"error": {"code": code, "message": message, **extra}}), status


def status_of(error: domain.DomainError) -> int:
    if isinstance(error, BadRequest):
        return 400
    if error.code == "unauthorized":
        return 401
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 409


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def validation_message(error: ValidationError) -> tuple[str, list[dict[str, str]]]:
    fields = [
        {"field": _field(e["loc"]), "message": str(e["msg"]).removeprefix("Value error, ")}
        for e in error.errors()
    ]
    text = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return f"请求参数有误 (invalid request): {text}", fields


def _words(error: HTTPException) -> str:
    """The sentence of an HTTP error, Chinese then English, where werkzeug has only English."""
    if error.code == 413:
        kb = (request.max_content_length or 0) // 1024
        return f"请求体过大，最多 {kb} KB (the request body is too large: at most {kb} KB)."
    if error.code == 405:
        allowed = ", ".join(sorted(getattr(error, "valid_methods", None) or ()))
        method = request.method[:20]
        return (
            f"此地址不支持 {method} 方法，可用 {allowed} "
            f"(method {method} is not allowed here; use {allowed})."
        )
    if error.code == 404 and error.description == type(error).description:
        return "没有这个地址 (no such address)."
    return error.description or error.name


def register(app: Flask) -> None:
    """Install the error handlers on ``app``."""

    @app.errorhandler(domain.DomainError)
    def _domain(error: domain.DomainError) -> tuple[Response, int]:
        response, status = error_response(status_of(error), error.code, error.message)
        retry_after_s = getattr(error, "retry_after_s", None)  # a 429 that knows when
        if retry_after_s:
            response.headers["Retry-After"] = str(retry_after_s)
        return response, status

    @app.errorhandler(ValidationError)
    def _invalid(error: ValidationError) -> tuple[Response, int]:
        message, fields = validation_message(error)
        return error_response(422, "invalid_input", message, fields=fields)

    @app.errorhandler(StaleDataError)
    def _raced(_: StaleDataError) -> tuple[Response, int]:
        return error_response(
            409, "conflict", "号票刚被他人处理，请重试 (changed meanwhile: retry)."
        )

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Any:
        if not request.path.startswith("/api/") and error.code != 413:
            return error  # a page's own error page (a body too large is answered in JSON)
        code = (error.name or "error").lower().replace(" ", "_")
        response, status = error_response(error.code or 500, code, _words(error))
        for name, value in error.get_headers():  # Allow of a 405, Retry-After …
            if name.lower() != "content-type":
                response.headers[name] = value
        return response, status

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> tuple[Response, int]:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(500, "internal", "服务器内部错误，已记录 (internal error, logged).")
