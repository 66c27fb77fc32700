"""Merge (upsert) the single-file dimensions; serialized so parallel runs never lose an update."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from include.etl import lake, schema
from include.etl.business_day import parse_odoo_datetime
from include.etl.clean import Invalid, m2o, money
from include.etl.extract import load_records, load_staging
from include.etl.states import COUNTED_STATES

if TYPE_CHECKING:
    from include.etl.odoo_client import Record

log = logging.getLogger(__name__)

_LOCK_NAME = ".dimensions.lock"


@contextlib.contextmanager
def dimensions_lock(lake_root: str, timeout_s: float = 600.0) -> Iterator[None]:
    """An exclusive lock around the read-modify-write of the dimension files.

    `flock` on a file beside them: held by one process at a time on this machine or on a
    shared POSIX file system, released by the kernel if its holder dies (kill -9 too).
    """
    path = Path(lake_root, lake.STAR, _LOCK_NAME)
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(path, "a+") as fh:
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() - started > timeout_s:
                    raise TimeoutError(f"could not lock {path} within {timeout_s:.0f} s") from None
                time.sleep(0.05)
        waited = time.monotonic() - started
        if waited > 0.5:
            log.info("waited %.1f s for the dimensions lock", waited)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _ts(value: Any) -> datetime | None:
    try:
        return parse_odoo_datetime(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _pos_category_ids(value: Any) -> list[int]:
    """Odoo 17+ `pos_categ_ids` is a list of ids; Odoo 16 `pos_categ_id` is [id, name]."""
    if isinstance(value, list) and len(value) == 2 and isinstance(value[1], str):
        return [value[0]]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, int) and not isinstance(v, bool)]
    return []


def product_rows(
    products: list[Record],
    categories: list[Record],
    pos_categories: list[Record],
    pos_field: str | None,
    brand_field: str | None,
    variant_values: list[Record] | None = None,
    variant_field: str | None = None,
) -> list[dict[str, Any]]:
    complete = {c["id"]: _text(c.get("complete_name")) or _text(c.get("name")) for c in categories}
    pos_names = {c["id"]: _text(c.get("name")) for c in pos_categories}
    value_names = {v["id"]: _text(v.get("name")) for v in variant_values or []}
    rows = []
    for p in products:
        template = m2o(p.get("product_tmpl_id"), "product_tmpl_id", required=False)
        # Odoo lists a variant's values in attribute-line order, the order of its display name
        values = [value_names.get(v) for v in _pos_category_ids(p.get(variant_field))] if variant_field else []
        categ = m2o(p.get("categ_id"), "categ_id", required=False)
        pos_ids = _pos_category_ids(p.get(pos_field) if pos_field else None)
        brand = m2o(p.get(brand_field), "brand", required=False) if brand_field else None
        try:
            list_price = money(p.get("lst_price"), "lst_price")
        except Invalid:
            list_price = None
        rows.append(
            {
                "product_id": p["id"],
                "product_name": _text(p.get("name")) or _text(p.get("display_name")),
                "default_code": _text(p.get("default_code")),
                "category_id": categ[0] if categ else None,
                "product_category": (complete.get(categ[0]) or categ[1]) if categ else None,
                "pos_category": pos_names.get(pos_ids[0]) if pos_ids else None,
                "brand_id": brand[0] if brand else None,
                "brand_name": brand[1] if brand else None,
                "list_price": list_price,
                "active": bool(p.get("active", True)),
                "source_write_date": _ts(p.get("write_date")),
                "product_tmpl_id": template[0] if template else None,
                "template_name": _text(p.get("name")),
                "variant_values": ", ".join(v for v in values if v) or None,
                "barcode": _text(p.get("barcode")),
                "product_display_name": _text(p.get("display_name")) or _text(p.get("name")),
            }
        )
    return rows


def store_rows(stores: list[Record]) -> list[dict[str, Any]]:
    rows = []
    for s in stores:
        company = m2o(s.get("company_id"), "company_id", required=False)
        currency = m2o(s.get("currency_id"), "currency_id", required=False)
        rows.append(
            {
                "store_id": s["id"],
                "store_name": _text(s.get("name")),
                "company_id": company[0] if company else None,
                "company_name": company[1] if company else None,
                "currency": currency[1] if currency else None,
                "active": bool(s.get("active", True)),
                "source_write_date": _ts(s.get("write_date")),
            }
        )
    return rows


def staff_rows(orders: list[Record], seller_fields: list[str], seen_at: datetime | None) -> list[dict[str, Any]]:
    """Who rang the day's sales: the order's user and, with pos_hr, its employee (id and the name Odoo shows).

    The names come from the many2one values as read now, so `seen_at` (the extract time)
    is their version: a later load of any day brings the newer name.
    """
    kinds = {"user_id": "user", **{f: "employee" for f in seller_fields if f == "employee_id"}}
    found: dict[tuple[str, int], str | None] = {}
    for order in orders:
        for fname, kind in kinds.items():
            ref = m2o(order.get(fname), fname, required=False) if isinstance(order.get(fname), list) else None
            if ref is not None:
                found[(kind, ref[0])] = _text(ref[1])
    return [
        {"staff_type": kind, "staff_id": sid, "staff_name": name, "source_write_date": seen_at}
        for (kind, sid), name in sorted(found.items())
    ]


def customer_rows(orders: list[Record], counted: set[str], seen_at: datetime | None) -> list[dict[str, Any]]:
    """The customers (pos.order.partner_id) of the day's counted orders: id and the name Odoo shows, nothing else."""
    found: dict[int, str | None] = {}
    for order in orders:
        if order.get("state") not in counted:
            continue
        value = order.get("partner_id")
        ref = m2o(value, "partner_id", required=False) if isinstance(value, list) else None
        if ref is not None:
            found[ref[0]] = _text(ref[1])
    return [
        {"customer_id": cid, "customer_name": name, "source_write_date": seen_at} for cid, name in sorted(found.items())
    ]


def category_rows(categories: list[Record]) -> list[dict[str, Any]]:
    rows = []
    for c in categories:
        parent = m2o(c.get("parent_id"), "parent_id", required=False)
        rows.append(
            {
                "category_id": c["id"],
                "category_name": _text(c.get("name")),
                "complete_name": _text(c.get("complete_name")) or _text(c.get("name")),
                "parent_id": parent[0] if parent else None,
                "source_write_date": _ts(c.get("write_date")),
            }
        )
    return rows


def brand_rows(brands: list[Record]) -> list[dict[str, Any]]:
    return [
        {"brand_id": b["id"], "brand_name": _text(b.get("name")), "source_write_date": _ts(b.get("write_date"))}
        for b in brands
    ]


def merge(
    existing: list[dict[str, Any]], incoming: list[dict[str, Any]], key: str | tuple[str, ...]
) -> tuple[list[dict[str, Any]], int, int]:
    """Upsert by the `key` column(s); a row with an older `source_write_date` never replaces a newer one.

    Returns (rows sorted by key, inserted, updated).
    """
    cols = (key,) if isinstance(key, str) else key

    def key_of(row: dict[str, Any]) -> Any:
        return row[cols[0]] if len(cols) == 1 else tuple(row[c] for c in cols)

    by_key = {key_of(row): row for row in existing}
    inserted = updated = 0
    for row in incoming:
        old = by_key.get(key_of(row))
        if old is None:
            inserted += 1
        elif _same_content(old, row):
            continue
        else:
            old_ts, new_ts = old.get("source_write_date"), row.get("source_write_date")
            if old_ts is not None and new_ts is not None and new_ts < old_ts:
                continue
            updated += 1
        by_key[key_of(row)] = row
    return [by_key[k] for k in sorted(by_key)], inserted, updated


def _same_content(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Equal but for `source_write_date`: nothing to write (a re-read name that did not change)."""
    return all(old.get(k) == v for k, v in new.items() if k != "source_write_date")


@dataclass(frozen=True)
class DimSummary:
    name: str
    path: str
    rows: int
    inserted: int
    updated: int


def _fields(s: DimSummary) -> tuple[str, int, int, int, str]:
    return s.name, s.rows, s.inserted, s.updated, s.path


def upsert_table(lake_root: str, name: str, incoming: list[dict[str, Any]]) -> DimSummary:
    """Read-modify-write of one dimension file; call under `dimensions_lock` (a folder lake)."""
    arrow_schema, key = schema.DIMENSIONS[name]
    path = lake.dimension_file(lake_root, name)
    # a file written before a column was added gets it as nulls, then the incoming rows fill it
    existing = schema.conform(pq.read_table(path), arrow_schema).to_pylist() if path.exists() else []
    rows, inserted, updated = merge(existing, incoming, key)
    if inserted or updated or not path.exists():
        lake.write_parquet_atomic(pa.Table.from_pylist(rows, arrow_schema), path)
    return DimSummary(name, str(path), len(rows), inserted, updated)


def upsert_table_s3(lake_root: str, name: str, incoming: list[dict[str, Any]]) -> DimSummary:
    """The same merge on S3, without a lock: a conditional write on the file's ETag, redone on conflict.

    Two runs that merge at once both read version N; the first PUT (If-Match N) wins, the second
    gets 412, reads the winner's file and merges its rows into it: no update is lost.
    """
    arrow_schema, key = schema.DIMENSIONS[name]
    path = lake.Lake(lake_root).dimension_file(name)
    result: dict[str, int] = {}

    def change(current: bytes | None) -> bytes | None:
        existing = schema.conform(pq.read_table(pa.BufferReader(current)), arrow_schema).to_pylist() if current else []
        rows, inserted, updated = merge(existing, incoming, key)
        result.update(rows=len(rows), inserted=inserted, updated=updated)
        if current is not None and not inserted and not updated:
            return None
        sink = pa.BufferOutputStream()
        pq.write_table(pa.Table.from_pylist(rows, arrow_schema), sink, compression="zstd")
        return sink.getvalue().to_pybytes()

    lake.Lake(lake_root).compare_and_swap(path, change)
    return DimSummary(name, path, result["rows"], result["inserted"], result["updated"])


def upsert_dims(staging_dir: str, lake_root: str) -> list[DimSummary]:
    meta = load_staging(staging_dir, "meta")
    categories = load_records(staging_dir, "categories")
    orders = load_records(staging_dir, "orders")
    incoming = {
        "dim_products": product_rows(
            load_records(staging_dir, "products"),
            categories,
            load_records(staging_dir, "pos_categories"),
            meta.get("pos_category_field"),
            meta.get("brand_field"),
            load_records(staging_dir, "variant_values"),
            meta.get("variant_values_field"),
        ),
        "dim_categories": category_rows(categories),
        "dim_brands": brand_rows(load_records(staging_dir, "brands")),
        "dim_stores": store_rows(load_records(staging_dir, "stores")),
        "dim_staff": staff_rows(orders, meta.get("seller_fields", []), _ts(meta.get("extracted_at_utc"))),
        "dim_customers": customer_rows(
            orders,
            set(meta.get("counted_states") or COUNTED_STATES),
            _ts(meta.get("extracted_at_utc")),
        ),
    }
    started = time.perf_counter()
    if lake.is_s3(lake_root):
        summaries = [upsert_table_s3(lake_root, name, rows) for name, rows in incoming.items()]
        for s in summaries:
            log.info("upsert_dims receipt: %s rows=%d inserted=%d updated=%d path=%s", *_fields(s))
        log.info("upsert_dims took %.2f s (conditional writes, no lock)", time.perf_counter() - started)
        return summaries
    with dimensions_lock(lake_root):
        # Dimension files are written only under this lock: a temp file beside them now
        # was left by a writer that died.
        for tmp in Path(lake_root, lake.STAR).glob(".dim_*.parquet.tmp-*"):
            log.warning("removing %s, left by a crashed dimension writer", tmp)
            tmp.unlink(missing_ok=True)
        summaries = [upsert_table(lake_root, name, rows) for name, rows in incoming.items()]
    for s in summaries:
        log.info(
            "upsert_dims receipt: %s rows=%d inserted=%d updated=%d path=%s",
            s.name,
            s.rows,
            s.inserted,
            s.updated,
            s.path,
        )
    log.info("upsert_dims took %.2f s (under the dimensions lock)", time.perf_counter() - started)
    return summaries
