"""Fixtures of the dashboard tests: a generated lake with known totals, and an empty one."""

from __future__ import annotations

from pathlib import Path

import pytest
from dashboard_fake_lake import generate_rows, write_lake


@pytest.fixture(scope="session")
def lake_rows() -> list[dict]:
    return generate_rows()


@pytest.fixture(scope="session")
def fake_lake(tmp_path_factory: pytest.TempPathFactory, lake_rows: list[dict]) -> Path:
    root = tmp_path_factory.mktemp("lake")
    write_lake(root, lake_rows)
    return root


@pytest.fixture
def lake_env(fake_lake: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point `DATA_LAKE_PATH` at the generated lake, as the service reads it."""
    monkeypatch.setenv("DATA_LAKE_PATH", str(fake_lake))
    monkeypatch.setenv("STORE_TIMEZONE", "UTC")
    return fake_lake


@pytest.fixture
def empty_lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "empty-lake"
    root.mkdir()
    monkeypatch.setenv("DATA_LAKE_PATH", str(root))
    return root
