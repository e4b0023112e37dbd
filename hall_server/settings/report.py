"""Turn pydantic's validation errors into one ConfigError naming each key and its source."""

import difflib
import types
import typing
from collections.abc import Mapping
from typing import Annotated, Any, Union

from pydantic import BaseModel, ValidationError

from .base import DEFAULTS_FILE, ConfigError, Loc, Problems, label, quote
from .checks import hall_links
from .layers import Layers


def _dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part != "[key]":
            text += f".{part}" if text else str(part)
    return text


def _field_names(model: type[BaseModel], loc: Loc) -> list[str]:
    """Return the keys allowed in the table at loc, for "did you mean" hints."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue  # a list index: the item type is already unwrapped
        if isinstance(current, type) and issubclass(current, BaseModel):
            if part not in current.model_fields:
                return []
            current = current.model_fields[part].annotation
        while typing.get_origin(current) in (tuple, dict, Union, types.UnionType, Annotated):
            args = [arg for arg in typing.get_args(current) if arg not in (Ellipsis, type(None))]
            current = args[-1] if typing.get_origin(current) is not Annotated else args[0]
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def describe(
    exc: ValidationError, model: type[BaseModel], layers: Layers, site: str
) -> ConfigError:
    """One ConfigError listing every problem once, each as "source: dotted.key: message"."""
    lines: list[str] = []
    errors = exc.errors()
    for error in errors:
        if _items_say_why(error, errors):
            continue
        for where, message in _problems_of(error, model):
            source = layers.source_of(where)
            if error["type"] == "missing" and source == label(DEFAULTS_FILE):
                source = site  # the defaults are complete; a missing key belongs to the site
            lines.append(f"{source}: {_dotted(where)}: {message}")
    hall = layers.data.get("hall")
    if isinstance(hall, Mapping) and not any(_is_links(error) for error in errors):
        # The hall-wide checks did not run (items failed first); run them on the raw data.
        for relative, message in hall_links(hall):
            where = ("hall", *relative)
            lines.append(f"{layers.source_of(where)}: {_dotted(where)}: {message}")
    lines = list(dict.fromkeys(lines))  # each line once, in order
    count = f"{len(lines)} problem" + ("s" if len(lines) != 1 else "")
    return ConfigError(f"invalid configuration ({count}):\n" + "\n".join(lines))


def _items_say_why(error: Any, errors: list[Any]) -> bool:
    """A list "too short" only because its items failed: the items say why."""
    loc = tuple(error["loc"])
    return error["type"] == "too_short" and any(
        len(other["loc"]) > len(loc) and tuple(other["loc"][: len(loc)]) == loc for other in errors
    )


def _problems_of(error: Any, model: type[BaseModel]) -> list[tuple[Loc, str]]:
    """(key, message) of one pydantic error; a validator's Problems may hold several."""
    loc: Loc = tuple(error["loc"])
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, Problems):
        return [((*loc, *relative), message) for relative, message in cause.problems]
    return [(loc, _message(error, model))]


def _is_links(error: Any) -> bool:
    return isinstance(error.get("ctx", {}).get("error"), Problems) and error["loc"] == ("hall",)


def _message(error: Any, model: type[BaseModel]) -> str:
    kind, loc = error["type"], tuple(error["loc"])
    if kind == "missing":
        return "missing: this key is required"
    if kind == "extra_forbidden":
        known = _field_names(model, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        return "unknown key" + (f'; did you mean "{close[0]}"?' if close else "")
    message = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    if isinstance(value, str | int | float | bool) and "(got " not in message:
        message += f" (got {quote(value)})"
    return message
