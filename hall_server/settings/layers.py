"""The layering of sources: tables merge deeply, lists replace, and every key keeps its source.

The sources, lowest first, are listed in ``load.load_settings``.
"""

from collections.abc import Mapping
from typing import Any

from .base import Loc


class Layers:
    """Merge configuration layers deeply and remember which source set each key."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.sources: dict[Loc, str] = {}

    def add(self, layer: Mapping[str, Any], source: str) -> None:
        self._merge(self.data, layer, (), source)

    def _merge(self, target: dict[str, Any], layer: Mapping[str, Any], loc: Loc, src: str) -> None:
        self.sources[loc] = src
        for key, value in layer.items():
            here = (*loc, key)
            if isinstance(value, Mapping) and isinstance(target.get(key), dict):
                self._merge(target[key], value, here, src)
                continue
            if here in self.sources:
                self._forget(here)
            target[key] = self._record(value, here, src)

    def _record(self, value: Any, loc: Loc, src: str) -> Any:
        """Copy a value into plain dicts and lists, noting the source of every key in it."""
        self.sources[loc] = src
        if isinstance(value, Mapping):
            return {key: self._record(item, (*loc, key), src) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self._record(item, (*loc, index), src) for index, item in enumerate(value)]
        return value

    def _forget(self, loc: Loc) -> None:
        # A replaced list or table must not lend its old sources to the new value's keys.
        for known in [known for known in self.sources if known[: len(loc)] == loc]:
            del self.sources[known]

    def source_of(self, loc: Loc) -> str:
        for length in range(len(loc), -1, -1):
            source = self.sources.get(loc[:length])
            if source is not None:
                return source
        return "<configuration>"
