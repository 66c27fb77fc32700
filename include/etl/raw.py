"""Save the raw layer: the day's order lines as Odoo returned them, with their order's fields.

Each many2one is kept as id and name (`product_id`, `product_id_name`); values that do
not fit their Odoo type (a NaN or a string in a float field) are null in the typed column
and kept verbatim in `line_json` / `order_json`, so the raw layer loses nothing.
"""

from __future__ import annotations

import json
import logging
import math
from datetime import date
from typing import Any

import pyarrow as pa

from include.etl import lake
from include.etl.extract import EXPECTED_TYPES, load_records
from include.etl.odoo_client import Record

log = logging.getLogger(__name__)

_ARROW_BY_ODOO = {
    "char": pa.string(),
    "selection": pa.string(),
    "datetime": pa.string(),  # Odoo's naive-UTC text, typed in the clean layer
    "float": pa.float64(),
    "monetary": pa.float64(),
    "integer": pa.int64(),
}


def _typed(value: Any, odoo_type: str) -> Any:
    if value is False or value is None:
        return None
    if odoo_type in ("float", "monetary"):
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        return None
    if odoo_type == "integer":
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    return value if isinstance(value, str) else None


def _columns(records: list[Record], model: str, prefix: str) -> dict[str, pa.Array]:
    cols: dict[str, pa.Array] = {}
    cols[f"{prefix}id"] = pa.array([_typed(r.get("id"), "integer") for r in records], pa.int64())
    for name, types in EXPECTED_TYPES[model].items():
        odoo_type = types[0]
        values = [r.get(name) for r in records]
        if odoo_type == "many2one":
            cols[f"{prefix}{name}"] = pa.array(
                [v[0] if isinstance(v, list) and v and isinstance(v[0], int) else None for v in values],
                pa.int64(),
            )
            cols[f"{prefix}{name}_name"] = pa.array(
                [v[1] if isinstance(v, list) and len(v) > 1 and isinstance(v[1], str) else None for v in values],
                pa.string(),
            )
        else:
            cols[f"{prefix}{name}"] = pa.array([_typed(v, odoo_type) for v in values], _ARROW_BY_ODOO[odoo_type])
    return cols


def raw_table(lines: list[Record], orders: list[Record]) -> pa.Table:
    """One row per line, with its order's fields (`order_*`) beside it.

    The order side is typed and serialized once per order, then repeated for its lines.
    """
    position = {o.get("id"): i for i, o in enumerate(orders)}
    missing = len(orders)  # index of a null row: the line's order was not returned
    take = pa.array([position.get(_m2o(line.get("order_id")), missing) for line in lines], pa.int64())
    order_cols = _columns([*orders, {}], "pos.order", "order_")
    order_cols["order_json"] = pa.array(
        [json.dumps(o, ensure_ascii=False) for o in orders] + [None], pa.string()
    )
    cols = _columns(lines, "pos.order.line", "")
    cols.update({name: col.take(take) for name, col in order_cols.items() if name != "order_json"})
    cols["line_json"] = pa.array([json.dumps(line, ensure_ascii=False) for line in lines], pa.string())
    cols["order_json"] = order_cols["order_json"].take(take)
    return pa.table(cols)


def save_raw(staging_dir: str, lake_root: str, day: date) -> lake.Written:
    lines = load_records(staging_dir, "lines")
    orders = load_records(staging_dir, "orders")
    written = lake.write_parquet(raw_table(lines, orders), lake.Lake(lake_root).partition_file(lake.RAW_LINES, day))
    log.info(
        "save_raw receipt: day=%s rows=%d orders=%d path=%s bytes=%d seconds=%.2f",
        day,
        written.rows,
        len(orders),
        written.path,
        written.bytes,
        written.seconds,
    )
    return written


def _m2o(value: Any) -> int | None:
    return value[0] if isinstance(value, list) and value and isinstance(value[0], int) else None
