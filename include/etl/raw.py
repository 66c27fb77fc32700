"""Save the raw layer: the day's order lines as Odoo returned them, with their order's fields.

Each many2one is kept as id and name (`product_id`, `product_id_name`); values that do
not fit their Odoo type (a NaN or a string in a float field) are null in the typed column
and kept verbatim in `line_json` / `order_json`, so the raw layer loses nothing.
"""

from __future__ import annotations

import logging
import math
from datetime import date
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from include.etl import lake
from include.etl.extract import EXPECTED_TYPES, to_json

if TYPE_CHECKING:
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
    cols[f"{prefix}id"] = pa.array(_typed_values([r.get("id") for r in records], "integer"), pa.int64())
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
            cols[f"{prefix}{name}"] = pa.array(_typed_values(values, odoo_type), _ARROW_BY_ODOO[odoo_type])
    return cols


_PLAIN = {"float": float, "monetary": float, "integer": int, "char": str, "selection": str, "datetime": str}


def _typed_values(values: list[Any], odoo_type: str) -> list[Any]:
    """`_typed` of each value, with a fast path for the plain case (a finite float, an int, a string)."""
    plain = _PLAIN[odoo_type]
    if plain is float:
        isfinite = math.isfinite
        return [v if type(v) is float and isfinite(v) else _typed(v, odoo_type) for v in values]
    return [v if type(v) is plain else _typed(v, odoo_type) for v in values]


def line_columns(lines: list[Record]) -> dict[str, Any]:
    """The raw layer's own columns of these lines (extract builds them page by page)."""
    return _columns(lines, "pos.order.line", "")


def order_columns(orders: list[Record]) -> dict[str, pa.Array]:
    """The raw layer's `order_*` columns and `order_json` of these orders, one row each."""
    cols = _columns(orders, "pos.order", "order_")
    cols["order_json"] = pa.array([to_json(o) for o in orders], pa.string())
    return cols


def order_positions(line_order_ids: list[int | None], order_ids: list[Any]) -> pa.Array:
    """For each line, the row of its order (the last one with that id), null when it was not returned."""
    position = {oid: i for i, oid in enumerate(order_ids)}
    return pa.array([position.get(oid) if oid is not None else None for oid in line_order_ids], pa.int64())


def join_orders(line_cols: dict[str, Any], order_cols: dict[str, Any]) -> pa.Table:
    """One row per line, with its order's fields (`order_*`) beside it, in the raw layer's column order.

    The order side is typed and serialized once per order, then taken for its lines. (The
    orders' `order_id` replaces the line's many2one id under that name: null when the line's
    order was not returned.)
    """
    take = order_positions(line_cols["order_id"].to_pylist(), order_cols["order_id"].to_pylist())
    cols = {name: col for name, col in line_cols.items() if name != "line_json"}
    cols.update({name: col.take(take) for name, col in order_cols.items() if name != "order_json"})
    cols["line_json"] = line_cols["line_json"]
    cols["order_json"] = order_cols["order_json"].take(take)
    return pa.table(cols)


def raw_table(lines: list[Record], orders: list[Record]) -> pa.Table:
    """The raw table of these records (the staged path in `save_raw` builds the same from staging)."""
    cols = line_columns(lines)
    cols["line_json"] = pa.array([to_json(line) for line in lines], pa.string())
    return join_orders(cols, order_columns(orders))


def staged_raw_table(staging_dir: str) -> tuple[pa.Table, int]:
    """The raw table from the Arrow staging files of `extract` (no JSON decoded), and the number of orders."""
    from include.etl.extract import SHAPE_OK, load_table

    lines = load_table(staging_dir, "lines")
    orders = load_table(staging_dir, "orders")
    line_cols = {name: lines[name] for name in lines.column_names if name != SHAPE_OK}
    order_cols = {name: orders[name] for name in orders.column_names if name not in (SHAPE_OK, "order_employee_id")}
    return join_orders(line_cols, order_cols), orders.num_rows


def save_raw(staging_dir: str, lake_root: str, day: date) -> lake.Written:
    table, orders = staged_raw_table(staging_dir)
    written = lake.write_parquet(table, lake.Lake(lake_root).partition_file(lake.RAW_LINES, day))
    log.info(
        "save_raw receipt: day=%s rows=%d orders=%d path=%s bytes=%d seconds=%.2f",
        day,
        written.rows,
        orders,
        written.path,
        written.bytes,
        written.seconds,
    )
    return written
