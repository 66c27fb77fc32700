"""Late corrections: find earlier business days whose orders changed in Odoo after they were loaded."""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from datetime import date, datetime, timedelta, tzinfo

from include.etl.business_day import local_midnight_utc, odoo_datetime, parse_odoo_datetime, to_local
from include.etl.odoo_client import OdooClient
from include.etl.publish import read_manifest

log = logging.getLogger(__name__)


def lookback_days() -> int:
    """`NK_DASH_LOOKBACK_DAYS`: how many earlier business days each run re-checks (default 7, 0 = off)."""
    return int(os.environ.get("NK_DASH_LOOKBACK_DAYS", "7"))


def clock_skew() -> timedelta:
    """`NK_DASH_CLOCK_SKEW_S`: margin for the Odoo server's clock against ours (default 300 s)."""
    return timedelta(seconds=float(os.environ.get("NK_DASH_CLOCK_SKEW_S", "300")))


def changed_days(client: OdooClient, day: date, tz: tzinfo, lake_root: str, lookback: int) -> dict[date, str]:
    """Earlier loaded days (within `lookback`) with an order written after the day was loaded, and why.

    One paged `search_read` on `pos.order` filtered by `write_date`, whatever the look-back.
    """
    loaded: dict[date, datetime] = {}
    for back in range(1, lookback + 1):
        manifest = read_manifest(lake_root, day - timedelta(days=back))
        if manifest:
            loaded[day - timedelta(days=back)] = parse_odoo_datetime(manifest["loaded_at_utc"]) - clock_skew()
    if not loaded:
        return {}
    orders = client.search_read_all(
        "pos.order",
        [
            ("date_order", ">=", odoo_datetime(local_midnight_utc(min(loaded), tz))),
            ("date_order", "<", odoo_datetime(local_midnight_utc(day, tz))),
            ("write_date", ">", odoo_datetime(min(loaded.values()))),
        ],
        ["name", "date_order", "write_date", "state"],
    )
    changed: dict[date, list[dict]] = defaultdict(list)
    for order in orders:
        order_day = to_local(parse_odoo_datetime(order["date_order"]), tz).date()
        since = loaded.get(order_day)
        if since is not None and parse_odoo_datetime(order["write_date"]) > since:
            changed[order_day].append(order)
    reasons = {}
    for changed_day, changed_orders in sorted(changed.items()):
        sample = ", ".join(f"{o['name']} ({o['state']}, written {o['write_date']})" for o in changed_orders[:3])
        reasons[changed_day] = f"{len(changed_orders)} order(s) written in Odoo after the day was loaded: {sample}" + (
            " …" if len(changed_orders) > 3 else ""
        )
    log.info(
        "late corrections: checked %d loaded day(s) back to %s, %d changed order(s) found, days to reload: %s",
        len(loaded),
        min(loaded),
        len(orders),
        [d.isoformat() for d in reasons] or "none",
    )
    return reasons
