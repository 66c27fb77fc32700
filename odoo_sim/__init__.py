"""NK Dash Odoo 17 JSON-RPC simulator: deterministic Point-of-Sale data served like a real Odoo.

Run it with ``python -m odoo_sim``; use :func:`odoo_sim.testing.start_simulator` from tests and
:func:`expected_stats` for in-process expected totals.
"""

from __future__ import annotations

from typing import Any

from odoo_sim.config import SimConfig, config_from_args

__all__ = ["SimConfig", "config_from_args", "expected_stats"]


def expected_stats(date_from: str, date_to: str, argv: list[str] | None = None,
                   config: SimConfig | None = None) -> dict[str, Any]:
    """Same answer as GET /sim/stats for a fresh (unmutated) simulator started with `argv`/`config`."""
    from odoo_sim.models import Registry

    cfg = config or config_from_args(argv or [])
    return Registry(cfg).stats(date_from, date_to)
