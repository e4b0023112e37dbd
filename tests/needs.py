"""Tests that need something outside Python: skip locally with the reason, fail in CI.

CI (``CI=true``) installs PostgreSQL, Redis, Chromium and espeak-ng first, so there a
missing tool is a broken build, never a silent skip.
"""

from __future__ import annotations

import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def missing(reason: str) -> None:
    """Skip the calling test with ``reason``, or fail it when running in CI."""
    if IN_CI:
        pytest.fail(f"required in CI but missing: {reason}", pytrace=False)
    pytest.skip(reason)


def need_program(name: str, *, package: str | None = None) -> str:
    """Return the path of program ``name``, or skip/fail saying how to install it."""
    path = shutil.which(name)
    if path is None:
        missing(f"{name} is not installed (apt-get install -y {package or name})")
    assert path is not None
    return path
