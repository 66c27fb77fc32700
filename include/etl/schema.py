"""Arrow schemas of the lake tables (see docs/lake-contract.md)."""

from __future__ import annotations

import pyarrow as pa

MONEY = pa.decimal128(18, 2)
QTY = pa.decimal128(18, 3)

FACT_SALES = pa.schema(
    [
        ("date", pa.date32()),
        ("order_id", pa.int64()),
        ("order_name", pa.string()),
        ("line_id", pa.int64()),
        ("product_id", pa.int64()),
        ("store_id", pa.int64()),
        ("store_name", pa.string()),
        ("session_id", pa.int64()),
        ("company_id", pa.int64()),
        ("currency", pa.string()),
        ("order_state", pa.string()),
        ("order_ts_utc", pa.timestamp("us")),
        ("local_hour", pa.int8()),
        ("quantity", QTY),
        ("price_unit", pa.decimal128(18, 4)),
        ("discount_pct", pa.decimal128(6, 2)),
        ("revenue", MONEY),
        ("revenue_excl_tax", MONEY),
        ("tax_amount", MONEY),
        ("discount_amount", MONEY),
        ("cost", MONEY),
        ("margin", MONEY),
        ("is_refund", pa.bool_()),
        ("refunded_line_id", pa.int64()),
        ("user_id", pa.int64()),
        ("employee_id", pa.int64()),
    ]
)

DIM_PRODUCTS = pa.schema(
    [
        ("product_id", pa.int64()),
        ("product_name", pa.string()),
        ("default_code", pa.string()),
        ("category_id", pa.int64()),
        ("product_category", pa.string()),
        ("pos_category", pa.string()),
        ("brand_id", pa.int64()),
        ("brand_name", pa.string()),
        ("list_price", MONEY),
        ("active", pa.bool_()),
        ("source_write_date", pa.timestamp("us")),
        ("product_tmpl_id", pa.int64()),
        ("template_name", pa.string()),
        ("variant_values", pa.string()),
        ("barcode", pa.string()),
        ("product_display_name", pa.string()),
    ]
)

DIM_STORES = pa.schema(
    [
        ("store_id", pa.int64()),
        ("store_name", pa.string()),
        ("company_id", pa.int64()),
        ("company_name", pa.string()),
        ("currency", pa.string()),
        ("active", pa.bool_()),
        ("source_write_date", pa.timestamp("us")),
    ]
)

DIM_STAFF = pa.schema(
    [
        ("staff_type", pa.string()),  # 'user' (res.users) or 'employee' (hr.employee, with pos_hr)
        ("staff_id", pa.int64()),
        ("staff_name", pa.string()),
        ("source_write_date", pa.timestamp("us")),
    ]
)

DIM_CATEGORIES = pa.schema(
    [
        ("category_id", pa.int64()),
        ("category_name", pa.string()),
        ("complete_name", pa.string()),
        ("parent_id", pa.int64()),
        ("source_write_date", pa.timestamp("us")),
    ]
)

DIM_BRANDS = pa.schema(
    [
        ("brand_id", pa.int64()),
        ("brand_name", pa.string()),
        ("source_write_date", pa.timestamp("us")),
    ]
)

# name -> (schema, key columns)
DIMENSIONS: dict[str, tuple[pa.Schema, tuple[str, ...]]] = {
    "dim_products": (DIM_PRODUCTS, ("product_id",)),
    "dim_categories": (DIM_CATEGORIES, ("category_id",)),
    "dim_brands": (DIM_BRANDS, ("brand_id",)),
    "dim_stores": (DIM_STORES, ("store_id",)),
    "dim_staff": (DIM_STAFF, ("staff_type", "staff_id")),
}


def conform(table: pa.Table, arrow_schema: pa.Schema) -> pa.Table:
    """`table` in `arrow_schema`: columns added since the file was written come in as nulls."""
    missing = [f for f in arrow_schema if f.name not in table.column_names]
    for f in missing:
        table = table.append_column(f, pa.nulls(table.num_rows, f.type))
    return table.select(arrow_schema.names).cast(arrow_schema)
