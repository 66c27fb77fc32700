"""Fixtures of the dashboard tests: a generated lake with known totals, and an empty one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dashboard_fake_lake import (
    generate_big_rows,
    generate_rows,
    generate_year_before_rows,
    write_big_lake,
    write_lake,
    write_year_before,
)


@pytest.fixture(scope="session")
def lake_rows() -> list[dict]:
    return generate_rows()


@pytest.fixture(scope="session")
def fake_lake(tmp_path_factory: pytest.TempPathFactory, lake_rows: list[dict]) -> Path:
    root = tmp_path_factory.mktemp("lake")
    write_lake(root, lake_rows)
    return root


@pytest.fixture(scope="session")
def year_before_rows() -> list[dict]:
    return generate_year_before_rows()


@pytest.fixture(scope="session")
def two_year_lake(
    tmp_path_factory: pytest.TempPathFactory, lake_rows: list[dict], year_before_rows: list[dict]
) -> Path:
    """The fake lake plus 1–14 February 2024 (the 5th never loaded), for like-for-like growth."""
    root = tmp_path_factory.mktemp("two-year-lake")
    write_lake(root, lake_rows)
    write_year_before(root, year_before_rows)
    return root


@pytest.fixture
def two_year_env(two_year_lake: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATA_LAKE_PATH", str(two_year_lake))
    monkeypatch.setenv("STORE_TIMEZONE", "UTC")
    return two_year_lake


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


@pytest.fixture(scope="session")
def big_rows() -> list[dict]:
    return generate_big_rows()


@pytest.fixture(scope="session")
def big_lake(tmp_path_factory: pytest.TempPathFactory, big_rows: list[dict]) -> Path:
    """60 brands, one template in 5 variants, amounts in the millions (dashboard_fake_lake, issue 8)."""
    root = tmp_path_factory.mktemp("big-lake")
    write_big_lake(root, big_rows)
    return root


@pytest.fixture
def big_env(big_lake: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATA_LAKE_PATH", str(big_lake))
    monkeypatch.setenv("STORE_TIMEZONE", "UTC")
    return big_lake


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Debian Chromium (never a downloaded one), one per test module: Playwright's sync API
    keeps an asyncio loop running in this thread while it is open, and the in-process Dash tests of
    other modules must not run inside it."""
    from test_dashboard_browser import _ARGS, CHROMIUM

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=_ARGS)
        yield chromium
        chromium.close()
