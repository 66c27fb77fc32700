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
        ("partner_id", pa.int64()),  # pos.order.partner_id (res.partner): the customer, null when none
    ]
)

# One row per pos.payment of a counted order (docs/lake-contract.md: fact_payments).
FACT_PAYMENTS = pa.schema(
    [
        ("date", pa.date32()),
        ("payment_id", pa.int64()),
        ("order_id", pa.int64()),
        ("order_name", pa.string()),
        ("store_id", pa.int64()),
        ("session_id", pa.int64()),
        ("company_id", pa.int64()),
        ("payment_method_id", pa.int64()),
        ("payment_method_name", pa.string()),
        ("payment_method_type", pa.string()),  # 'cash', 'bank' or 'pay_later' (customer account)
        ("amount", MONEY),
        ("currency", pa.string()),
        ("is_change", pa.bool_()),
        ("is_refund", pa.bool_()),
        ("payment_ts_utc", pa.timestamp("us")),
        ("order_state", pa.string()),
    ]
)

# One row per pos.session started on the business day (docs/lake-contract.md: fact_sessions).
FACT_SESSIONS = pa.schema(
    [
        ("date", pa.date32()),
        ("session_id", pa.int64()),
        ("session_name", pa.string()),
        ("store_id", pa.int64()),
        ("store_name", pa.string()),
        ("state", pa.string()),
        ("opened_by_id", pa.int64()),
        ("opened_by", pa.string()),
        ("closed_by_id", pa.int64()),
        ("closed_by", pa.string()),
        ("start_local", pa.timestamp("us")),
        ("stop_local", pa.timestamp("us")),
        ("start_utc", pa.timestamp("us")),
        ("stop_utc", pa.timestamp("us")),
        ("opening_cash", MONEY),
        ("cash_moves", MONEY),
        ("expected_cash", MONEY),
        ("counted_cash", MONEY),
        ("cash_difference", MONEY),
        ("currency", pa.string()),
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

DIM_CUSTOMERS = pa.schema(
    [
        ("customer_id", pa.int64()),  # res.partner id, = fact_sales.partner_id
        ("customer_name", pa.string()),  # the name Odoo shows for the order's customer; no other personal data
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
    "dim_customers": (DIM_CUSTOMERS, ("customer_id",)),
}


def conform(table: pa.Table, arrow_schema: pa.Schema) -> pa.Table:
    """`table` in `arrow_schema`: columns added since the file was written come in as nulls."""
    missing = [f for f in arrow_schema if f.name not in table.column_names]
    for f in missing:
        table = table.append_column(f, pa.nulls(table.num_rows, f.type))
    return table.select(arrow_schema.names).cast(arrow_schema)
