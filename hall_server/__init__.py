"""Smart Service Hall (智慧大厅): the hall server and composition root.

Importing the package is cheap on purpose: ``hall serve`` patches the standard library for
gevent before anything else is imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

    from .settings import Settings


def create_app(
    test_config: Mapping[str, Any] | None = None, *, settings: Settings | None = None
) -> Flask:
    """Build the hall server for the configured hall (the database must be initialised)."""
    from .app import create_app as build

    return build(test_config, settings=settings)
