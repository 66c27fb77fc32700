"""The browser measurement of the benchmark runs against the real page (its "drawn" test still matches)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import browser_bench, lakegen

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_browser_bench_on_a_tiny_lake(tmp_path: Path) -> None:
    assert Path(browser_bench.CHROMIUM).exists(), f"{browser_bench.CHROMIUM} is missing: apt-get install -y chromium"
    root = tmp_path / "tiny"
    lakegen.generate(root, lines=2_000, days=120)
    out = browser_bench.measure(str(root), runs=1)
    assert out is not None and out["runs"] == 1 and out["median"] > 0
    assert out["callbacks"] >= 2  # the page's callbacks ran
    assert out["full_plotly_requested"] is False
    assert out["plotly_url"] and browser_bench.FULL_PLOTLY not in out["plotly_url"]
    assert out["wire_kb"] < out["unpacked_kb"] / 2  # compressed
    assert out["revisit_wire_kb"] < out["wire_kb"] / 10  # the revisit comes from the cache
