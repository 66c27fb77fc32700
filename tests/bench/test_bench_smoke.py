"""The benchmark harness runs end to end on a tiny lake, and its baselines answer the same question."""

from __future__ import annotations

from pathlib import Path

from bench import baseline_project, lakegen, run
from dashboard import queries


def test_harness_on_a_tiny_lake(tmp_path: Path) -> None:
    root = tmp_path / "tiny"
    info = lakegen.generate(root, lines=2_000, days=120)
    assert info["rows"] > 1_500 and lakegen.generate(root, lines=2_000, days=120) == info  # cached, not rewritten
    result = run.run_size("tiny", 2_000, tmp_path, runs=2, baselines=False, browser=False, days=120)
    assert set(result["serving"]["pages"]) == set(run.PERIODS) | set(run.FILTERS)
    assert result["serving"]["rows"]["days"] == 120
    assert result["fresh"]["serving"]["page_ms"] > 0
    text = run.table({"tiny": result}, {**run.machine(), "load_average_at_end": (0.0, 0.0, 0.0)})
    assert "| default page (30 d + previous 30 d) |" in text and "whole history" in text


def test_the_baselines_ask_the_same_question(tmp_path: Path) -> None:
    root = tmp_path / "small"
    lakegen.generate(root, lines=3_000, days=90)
    raw = {"brand": "Brand 03 Co"}
    new = queries.load_overview(raw, str(root))
    old = baseline_project.load_overview(raw, str(root))
    assert new.filters is not None and old.filters is not None
    assert (new.current.revenue, new.current.orders, new.previous.orders) == (
        old.current.revenue,
        old.current.orders,
        old.previous.orders,
    )
    assert list(new.by_brand["name"]) == list(old.by_brand["name"])
