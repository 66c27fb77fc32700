"""Extract one business day from Odoo into a staging folder (JSON, exactly as Odoo answered).

Staging lives under `<lake>/_staging/<YYYY-MM-DD>/<run token>/`, outside every glob of
the lake's readers; the next tasks turn it into the raw, clean and star-schema files.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import os
import secrets
import shutil
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from include.etl import lake
from include.etl.business_day import day_window_utc, odoo_datetime
from include.etl.states import counted_states, unknown_states

if TYPE_CHECKING:
    from include.etl.odoo_client import OdooClient, Record

log = logging.getLogger(__name__)

STAGING = "_staging"
_STALE_STAGING_SECONDS = 7 * 24 * 3600

ORDER_FIELDS = (
    "name",
    "date_order",
    "state",
    "config_id",
    "session_id",
    "company_id",
    "currency_id",
    "amount_total",
    "amount_tax",
    "user_id",
    "write_date",
    "partner_id",
    "amount_paid",
)
LINE_FIELDS = (
    "order_id",
    "product_id",
    "full_product_name",
    "qty",
    "price_unit",
    "discount",
    "price_subtotal",
    "price_subtotal_incl",
    "total_cost",
    "refunded_orderline_id",
    "company_id",
    "write_date",
)
# The type each field must have: a change of type would change the meaning of the data.
EXPECTED_TYPES: dict[str, dict[str, tuple[str, ...]]] = {
    "pos.order": {
        "name": ("char",),
        "date_order": ("datetime",),
        "state": ("selection",),
        "config_id": ("many2one",),
        "session_id": ("many2one",),
        "company_id": ("many2one",),
        "currency_id": ("many2one",),
        "amount_total": ("float", "monetary"),
        "amount_tax": ("float", "monetary"),
        "user_id": ("many2one",),
        "write_date": ("datetime",),
        "partner_id": ("many2one",),
        "amount_paid": ("float", "monetary"),
    },
    "pos.order.line": {
        "order_id": ("many2one",),
        "product_id": ("many2one",),
        "full_product_name": ("char",),
        "qty": ("float",),
        "price_unit": ("float", "monetary"),
        "discount": ("float",),
        "price_subtotal": ("float", "monetary"),
        "price_subtotal_incl": ("float", "monetary"),
        "total_cost": ("float", "monetary"),
        "refunded_orderline_id": ("many2one",),
        "company_id": ("many2one",),
        "write_date": ("datetime",),
    },
}
PRODUCT_FIELDS = (
    "name",
    "display_name",
    "default_code",
    "barcode",
    "product_tmpl_id",
    "categ_id",
    "lst_price",
    "active",
    "write_date",
)
# The variant's attribute values (product.template.attribute.value), without the "never create
# a variant" attributes: what Odoo shows in brackets after the name.
VARIANT_VALUES_FIELD = "product_template_variant_value_ids"
# pos.config's stored `name`; its display name carries the session state ("Shop (not used)").
STORE_FIELDS = ("name", "company_id", "currency_id", "active", "write_date", "cash_rounding", "rounding_method")
# With pos_hr installed, the employee who rang the sale; without it, the order's user.
EMPLOYEE_FIELD = "employee_id"
CATEGORY_FIELDS = ("name", "complete_name", "parent_id", "write_date")


@dataclass(frozen=True)
class ExtractSummary:
    day: str
    staging_dir: str
    window_utc: tuple[str, str]
    orders: int
    lines: int
    products: int
    categories: int
    brands: int
    stores: int
    rpc_calls: int
    pages: int
    retries: int
    seconds: float
    server_version: str


def check_fields(client: OdooClient, expected_types: dict[str, dict[str, tuple[str, ...]]]) -> None:
    """Fail loudly when the source lacks one of these fields or changed its type, rather than load NULLs."""
    from include.etl.odoo_client import OdooSchemaError

    for model, expected in expected_types.items():
        fields = client.fields(model)
        for name, types in expected.items():
            if name not in fields:
                raise OdooSchemaError(
                    f"source schema changed: {model} has no field '{name}' "
                    f"(Odoo {client.server_version}); refusing to load NULLs in its place"
                )
            if fields[name].get("type") not in types:
                raise OdooSchemaError(
                    f"source schema changed: {model}.{name} is '{fields[name].get('type')}', "
                    f"expected {' or '.join(types)}"
                )


def check_schema(client: OdooClient) -> None:
    """The order and line fields the ETL reads, and the order states it can classify.

    The schema is read from `fields_get`, never inferred from the version number: money fields
    are `float` up to 18 and `monetary` from 19, `pos.order.state` loses `invoiced` in 19.
    """
    from include.etl.odoo_client import OdooSchemaError

    check_fields(client, EXPECTED_TYPES)
    selection = order_states(client)
    if selection and (unknown := unknown_states(selection)):
        raise OdooSchemaError(
            f"source schema changed: pos.order.state has values {sorted(unknown)} (Odoo {client.server_version}) "
            "that the ETL cannot count or exclude; refusing to guess"
        )


def order_states(client: OdooClient) -> list[str]:
    """The `pos.order.state` values of this server, from `fields_get`."""
    return [value for value, _label in client.fields("pos.order")["state"].get("selection") or []]


def product_variant_fields(client: OdooClient) -> tuple[str | None, str | None]:
    """(POS category field, brand field) of product.product on this server.

    Odoo 16 has `pos_categ_id` (many2one), 17+ `pos_categ_ids` (many2many); brands come
    from the OCA `product_brand` module (`product_brand_id`) when it is installed.
    """
    fields = client.fields("product.product")
    pos_field = next((f for f in ("pos_categ_ids", "pos_categ_id") if f in fields), None)
    brand_field = "product_brand_id" if "product_brand_id" in fields else None
    return pos_field, brand_field


def seller_fields(client: OdooClient) -> tuple[str, ...]:
    """`employee_id` of pos.order when pos_hr is installed (detected from fields_get), else nothing."""
    spec = client.fields("pos.order").get(EMPLOYEE_FIELD)
    return (EMPLOYEE_FIELD,) if spec and spec.get("type") == "many2one" else ()


def extract_day(client: OdooClient, day: date, tz: tzinfo, lake_root: str) -> ExtractSummary:
    """Read the orders, lines and referenced dimensions of one business day into staging."""
    from include.etl import payments as payments_mod  # it reads staging through this module

    started = time.perf_counter()
    extracted_at = datetime.now(UTC).replace(tzinfo=None)
    clean_stale_staging(lake_root)
    start, end = day_window_utc(day, tz)
    window = (odoo_datetime(start), odoo_datetime(end))
    check_schema(client)

    sellers = seller_fields(client)
    orders = _stage_order_pages(
        client.search_read_pages(
            "pos.order", [("date_order", ">=", window[0]), ("date_order", "<", window[1])], [*ORDER_FIELDS, *sellers]
        )
    )
    # Lines are turned into Arrow columns page by page and their records dropped: the day's
    # decoded lines, their JSON text and their table are never all in memory at once.
    lines = _stage_line_pages(
        client.search_read_pages(
            "pos.order.line",
            [("order_id.date_order", ">=", window[0]), ("order_id.date_order", "<", window[1])],
            LINE_FIELDS,
        )
    )
    log.info(
        "read %d orders and %d lines of business day %s (UTC window %s .. %s)",
        len(orders.records),
        lines.table.num_rows,
        day,
        *window,
    )

    pos_field, brand_field = product_variant_fields(client)
    product_ids = sorted(lines.product_ids)
    variant_field = VARIANT_VALUES_FIELD if VARIANT_VALUES_FIELD in client.fields("product.product") else None
    fields = [*PRODUCT_FIELDS, *(f for f in (pos_field, brand_field, variant_field) if f)]
    products = client.read("product.product", product_ids, fields) if product_ids else []
    value_ids = sorted({v for p in products for v in _x2m_ids(p.get(variant_field))}) if variant_field else []
    variant_values = (
        client.read("product.template.attribute.value", value_ids, ["name", "attribute_id"]) if value_ids else []
    )
    staged = payments_mod.extract(client, window)
    store_ids = sorted(orders.store_ids | payments_mod.session_store_ids(staged))
    stores = client.read("pos.config", store_ids, STORE_FIELDS) if store_ids else []
    staged["cash_roundings"] = payments_mod.read_roundings(client, stores)
    categories = client.search_read_all("product.category", [], CATEGORY_FIELDS)
    pos_category_ids = sorted({cid for p in products for cid in _x2m_ids(p.get(pos_field))}) if pos_field else []
    pos_categories = client.read("pos.category", pos_category_ids, ["name"]) if pos_category_ids else []
    brands = (
        client.search_read_all("product.brand", [], ["name", "write_date"])
        if brand_field and client.has_model("product.brand")
        else []
    )
    # A refund must point at a line that exists: on this day, or found with one `search`.
    refunded = lines.refunded_ids
    elsewhere = refunded - lines.line_ids
    found = set(client.search_ids("pos.order.line", [("id", "in", sorted(elsewhere))])) if elsewhere else set()
    existing_refunded = (refunded - elsewhere) | found

    staging = lake.join(lake_root, STAGING, day.isoformat(), f"{int(time.time())}-{secrets.token_hex(4)}")
    if not lake.is_s3(staging):
        Path(staging).mkdir(parents=True, exist_ok=False)
    dump_table(lake.join(staging, f"lines{TABLE_SUFFIX}"), lines.table)
    dump_table(lake.join(staging, f"orders{TABLE_SUFFIX}"), orders.table)
    _dump(lake.join(staging, "orders.json.gz"), orders.records)
    _dump(lake.join(staging, "products.json.gz"), products)
    _dump(lake.join(staging, "categories.json.gz"), categories)
    _dump(lake.join(staging, "pos_categories.json.gz"), pos_categories)
    _dump(lake.join(staging, "brands.json.gz"), brands)
    _dump(lake.join(staging, "stores.json.gz"), stores)
    _dump(lake.join(staging, "variant_values.json.gz"), variant_values)
    for name, records in staged.items():
        _dump(lake.join(staging, f"{name}.json.gz"), records)
    summary = ExtractSummary(
        day=day.isoformat(),
        staging_dir=str(staging),
        window_utc=window,
        orders=len(orders.records),
        lines=lines.table.num_rows,
        products=len(products),
        categories=len(categories),
        brands=len(brands),
        stores=len(stores),
        rpc_calls=client.rpc_calls,
        pages=client.pages,
        retries=client.retries,
        seconds=round(time.perf_counter() - started, 3),
        server_version=client.server_version,
    )
    meta = {
        **asdict(summary),
        "extracted_at_utc": odoo_datetime(extracted_at),
        "pos_category_field": pos_field,
        "counted_states": sorted(counted_states(order_states(client))),
        "api": client.api,
        "brand_field": brand_field,
        "variant_values_field": variant_field,
        "seller_fields": list(sellers),
        "existing_refunded_line_ids": sorted(existing_refunded),
        "checked_refunded_line_ids": sorted(refunded),
        "payments": len(staged["payments"]),
        "sessions": len(staged["sessions"]),
        "staging_format": STAGING_FORMAT,
    }
    _dump(lake.join(staging, "meta.json.gz"), meta)
    log.info(
        "extract receipt: day=%s orders=%d lines=%d payments=%d sessions=%d products=%d categories=%d brands=%d "
        "stores=%d rpc_calls=%d pages=%d retries=%d seconds=%.2f staging=%s",
        day,
        summary.orders,
        summary.lines,
        len(staged["payments"]),
        len(staged["sessions"]),
        summary.products,
        summary.categories,
        summary.brands,
        summary.stores,
        summary.rpc_calls,
        summary.pages,
        summary.retries,
        summary.seconds,
        staging,
    )
    return summary


def _m2o_id(value: Any) -> int | None:
    if isinstance(value, list | tuple) and value and isinstance(value[0], int):
        return value[0]
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _x2m_ids(value: Any) -> list[int]:
    if isinstance(value, list):
        return [v for v in value if isinstance(v, int) and not isinstance(v, bool)]
    single = _m2o_id(value)
    return [single] if single is not None else []


# `json.dumps(record, ensure_ascii=False)` without building an encoder per call: the same text
to_json = json.JSONEncoder(ensure_ascii=False).encode


@dataclass(frozen=True)
class EncodedRecords:
    """Records kept as the JSON text of their list (exactly `json.dumps(records, ensure_ascii=False)`)."""

    text: str
    count: int

    def __len__(self) -> int:
        return self.count


def encode_pages(pages: Any, on_page: Any = None) -> EncodedRecords:
    """The JSON text of every record of `pages`, built page by page (each page's records then released)."""
    parts: list[str] = []
    for page in pages:
        parts.extend(to_json(rec) for rec in page)
        if on_page is not None:
            on_page(page)
    return EncodedRecords("[" + ", ".join(parts) + "]", len(parts))


def _dump(path: str, payload: Any) -> None:
    # json.dumps (C encoder) then one compress: json.dump into a gzip stream encodes in Python, ≈ 10× slower
    text = payload.text if isinstance(payload, EncodedRecords) else json.dumps(payload, ensure_ascii=False)
    data = gzip.compress(text.encode(), compresslevel=1)
    if lake.is_s3(path):
        lake.write_bytes(path, data)
        return
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def load_staging(staging_dir: str, name: str) -> Any:
    return json.loads(gzip.decompress(lake.read_bytes(lake.join(staging_dir, f"{name}.json.gz"))).decode("utf-8"))


# --------------------------------------------------------------------------- Arrow staging
# The day's lines and orders are staged as Arrow IPC files: the raw layer's typed columns and
# each record's JSON text, built once here from the decoded records, plus two staging-only
# columns that `clean` reads (`_shape_ok`: the record has exactly the shapes `clean_line`
# accepts, so it can be validated column-wise; `order_employee_id`). save_raw and clean read
# them without decoding any JSON. The small record sets stay gzip JSON.
STAGING_FORMAT = 2
TABLE_SUFFIX = ".arrow"
SHAPE_OK = "_shape_ok"


class StagingFormatError(RuntimeError):
    """A staging folder written by an earlier version of the ETL (or incomplete)."""


@dataclass
class StagedLines:
    table: Any  # pa.Table: raw line columns, line_json, _shape_ok
    product_ids: set[int]
    refunded_ids: set[int]
    line_ids: set[Any]


def _stage_line_pages(pages: Any) -> StagedLines:
    """Arrow batches of the line pages, built page by page: each page's records are then released."""
    import pyarrow as pa

    from include.etl import clean as clean_mod
    from include.etl import raw as raw_mod

    batches = []
    product_ids: set[int] = set()
    refunded: set[int] = set()
    line_ids: set[Any] = set()
    for page in pages:
        cols = raw_mod.line_columns(page)
        cols["line_json"] = pa.array([to_json(rec) for rec in page], pa.string())
        cols[SHAPE_OK] = pa.array([clean_mod.line_shape_ok(rec) for rec in page], pa.bool_())
        batches.append(pa.RecordBatch.from_pydict(cols))
        for rec in page:
            line_ids.add(rec.get("id"))
            if (pid := _m2o_id(rec.get("product_id"))) is not None:
                product_ids.add(pid)
            if (ref := _m2o_id(rec.get("refunded_orderline_id"))) is not None:
                refunded.add(ref)
    if not batches:
        cols = raw_mod.line_columns([])
        cols["line_json"] = pa.array([], pa.string())
        cols[SHAPE_OK] = pa.array([], pa.bool_())
        batches.append(pa.RecordBatch.from_pydict(cols))
    return StagedLines(pa.Table.from_batches(batches), product_ids, refunded, line_ids)


@dataclass
class StagedOrders:
    table: Any  # pa.Table: raw order columns, order_json, order_employee_id, _shape_ok
    records: EncodedRecords  # the same orders as JSON, for the steps that read them as records
    store_ids: set[int]


def _stage_order_pages(pages: Any) -> StagedOrders:
    """The orders' Arrow table and JSON text, built page by page: each page's records are then released."""
    import pyarrow as pa

    tables = []
    store_ids: set[int] = set()
    for page in pages:
        tables.append(order_table(page))
        store_ids.update(sid for o in page if (sid := _m2o_id(o.get("config_id"))) is not None)
    table = pa.concat_tables(tables) if tables else order_table([])
    json_list = table["order_json"].to_pylist()
    return StagedOrders(table, EncodedRecords("[" + ", ".join(json_list) + "]", len(json_list)), store_ids)


def order_table(orders: list[Record]) -> Any:
    """The raw layer's order columns (`order_*`, `order_json`) plus `_shape_ok` and `order_employee_id`."""
    import pyarrow as pa

    from include.etl import clean as clean_mod
    from include.etl import raw as raw_mod

    cols = raw_mod.order_columns(orders)
    cols["order_employee_id"] = pa.array([_exact_id(o.get(EMPLOYEE_FIELD)) for o in orders], pa.int64())
    cols[SHAPE_OK] = pa.array([clean_mod.order_shape_ok(o) for o in orders], pa.bool_())
    return pa.table(cols)


def _exact_id(value: Any) -> int | None:
    return value[0] if isinstance(value, list) and len(value) == 2 and type(value[0]) is int else None


def dump_table(path: str, table: Any) -> None:
    """An Arrow IPC file, written whole (temp + rename on disk, one PUT on S3, compressed there)."""
    import pyarrow as pa

    if lake.is_s3(path):
        sink = pa.BufferOutputStream()
        with pa.ipc.new_file(sink, table.schema, options=pa.ipc.IpcWriteOptions(compression="lz4")) as writer:
            writer.write_table(table)
        lake.write_bytes(path, sink.getvalue().to_pybytes())
        return
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    os.replace(tmp, target)


def load_table(staging_dir: str, name: str, columns: list[str] | None = None) -> Any:
    """A staged Arrow table (memory-mapped on disk); a clear error for a staging folder of an older version."""
    import pyarrow as pa

    path = lake.join(staging_dir, f"{name}{TABLE_SUFFIX}")
    try:
        source = pa.BufferReader(lake.get_bytes(path)) if lake.is_s3(path) else pa.memory_map(path)
    except FileNotFoundError:
        raise StagingFormatError(
            f"staging folder {staging_dir} has no {name}{TABLE_SUFFIX}: it was written by an earlier version "
            "of the ETL (gzip JSON staging) or was removed; clear this run's extract task so the day is "
            "extracted again"
        ) from None
    table = pa.ipc.open_file(source).read_all()
    return table.select(columns) if columns else table


def load_records(staging_dir: str, name: str) -> list[Record]:
    records = load_staging(staging_dir, name)
    assert isinstance(records, list)
    return records


def drop_staging(staging_dir: str) -> None:
    lake.remove_tree(staging_dir)


def clean_stale_staging(lake_root: str, older_than_s: float = _STALE_STAGING_SECONDS) -> None:
    now = time.time()
    if lake.is_s3(lake_root):
        runs: dict[str, float] = {}
        for name, info in lake.list_objects(lake.join(lake_root, STAGING)).items():
            run_dir = name.rsplit("/", 1)[0]
            modified = info.get("LastModified")
            runs[run_dir] = max(runs.get(run_dir, 0.0), modified.timestamp() if modified is not None else now)
        for run_dir, modified in runs.items():
            if now - modified > older_than_s:
                log.info("removing stale staging folder %s", run_dir)
                lake.remove_tree(run_dir)
        return
    base = Path(lake_root, STAGING)
    if not base.exists():
        return
    for day_dir in _listing(base):  # a parallel run may remove its folders while we look
        for run_dir in _listing(day_dir):
            with contextlib.suppress(FileNotFoundError):
                if now - run_dir.stat().st_mtime > older_than_s:
                    log.info("removing stale staging folder %s", run_dir)
                    shutil.rmtree(run_dir, ignore_errors=True)


def _listing(folder: Path) -> list[Path]:
    try:
        return [Path(entry.path) for entry in os.scandir(folder) if entry.is_dir()]
    except (FileNotFoundError, NotADirectoryError):
        return []
