"""Shared test setup: which rbag binary to run, and where the fixtures are."""

from __future__ import annotations

import os
import pathlib
import shutil

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def rbag() -> str:
    """The rbag binary: $RBAG, else target/debug/rbag, else rbag on PATH."""
    for candidate in (os.environ.get("RBAG"), ROOT / "target/debug/rbag", shutil.which("rbag")):
        if candidate and pathlib.Path(candidate).is_file():
            return str(candidate)
    pytest.fail("no rbag binary: build it (cargo build) or set RBAG")


@pytest.fixture(scope="session")
def fixtures() -> pathlib.Path:
    return ROOT / "fixtures"
