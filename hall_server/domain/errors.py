"""Domain errors: each carries a stable code and a sentence a person understands."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the hall refused the request (HTTP 409 unless a subclass says otherwise)."""

    code = "conflict"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class IllegalTransition(DomainError):
    """The ticket or window is not in a state that allows this action."""

    code = "illegal_transition"


class NumbersExhausted(DomainError):
    """The service's number range or daily cap is used up for today."""

    code = "numbers_exhausted"


class ServiceClosed(DomainError):
    """The service does not issue tickets at this time."""

    code = "service_closed"


class NotFound(DomainError):
    """The named thing does not exist (HTTP 404)."""

    code = "not_found"


class InvalidInput(DomainError):
    """The request is well-formed but its values are not acceptable (HTTP 422)."""

    code = "invalid_input"


class Forbidden(DomainError):
    """The caller's role or window may not do this (HTTP 403)."""

    code = "forbidden"


class RateLimited(DomainError):
    """Too many requests from one kiosk, phone or ID (HTTP 429)."""

    code = "rate_limited"
