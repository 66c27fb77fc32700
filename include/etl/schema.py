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

DIMENSIONS: dict[str, tuple[pa.Schema, str]] = {
    "dim_products": (DIM_PRODUCTS, "product_id"),
    "dim_categories": (DIM_CATEGORIES, "category_id"),
    "dim_brands": (DIM_BRANDS, "brand_id"),
}
