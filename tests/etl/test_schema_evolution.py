"""A lake loaded before issue 8 (no dim_stores/dim_staff, old dim_products, facts without sellers) keeps working."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq

from include.etl import dims, lake, schema, views

OLD_FACT_COLUMNS = [f for f in schema.FACT_SALES if f.name not in ("user_id", "employee_id")]
OLD_PRODUCT_COLUMNS = [f for f in schema.DIM_PRODUCTS if f.name not in
                       ("product_tmpl_id", "template_name", "variant_values", "barcode", "product_display_name")]


def _fact(day: date, line_id: int, arrow_schema: pa.Schema, **extra) -> pa.Table:
    row = {f.name: None for f in arrow_schema}
    row.update(date=day, order_id=1, line_id=line_id, product_id=7, store_id=1, store_name="Shop (not used)",
               quantity=Decimal("1.000"), revenue=Decimal("2.50"), order_state="paid", **extra)
    return pa.Table.from_pylist([row], arrow_schema)


def _old_lake(root) -> None:
    lake.write_parquet_atomic(_fact(date(2025, 1, 1), 1, pa.schema(OLD_FACT_COLUMNS)),
                              lake.partition_file(root, lake.FACT_SALES, date(2025, 1, 1)))
    old_dim = pa.Table.from_pylist(
        [{"product_id": 7, "product_name": "Desk", "product_category": "All / Furniture", "active": True}],
        pa.schema(OLD_PRODUCT_COLUMNS),
    )
    lake.write_parquet_atomic(old_dim, lake.dimension_file(root, "dim_products"))


def test_views_read_an_old_lake_with_the_new_columns_as_null(tmp_path):
    _old_lake(tmp_path)
    lake.write_parquet_atomic(_fact(date(2025, 1, 2), 2, schema.FACT_SALES, user_id=6, employee_id=None),
                              lake.partition_file(tmp_path, lake.FACT_SALES, date(2025, 1, 2)))
    con = views.connect(str(tmp_path))
    assert con.execute("SELECT line_id, user_id FROM fact_sales ORDER BY line_id").fetchall() == [(1, None), (2, 6)]
    assert con.execute("SELECT product_display_name, product_name FROM dim_products").fetchall() == [(None, "Desk")]
    assert con.execute("SELECT count(*) FROM dim_stores").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM dim_staff").fetchone() == (0,)
    # the original design's queries run unchanged
    con.execute("SELECT * FROM fact_sales WHERE date >= current_date - INTERVAL 30 DAY").fetchall()
    top = con.execute(
        "SELECT p.product_id, p.product_category, SUM(f.quantity) AS qty, SUM(f.revenue) AS revenue "
        "FROM fact_sales f LEFT JOIN dim_products p USING (product_id) "
        "WHERE date_trunc('month', date) = date_trunc('month', DATE '2025-01-15') GROUP BY 1, 2 "
        "ORDER BY revenue DESC LIMIT 20"
    ).fetchall()
    assert top == [(7, "All / Furniture", Decimal("2.000"), Decimal("5.00"))]


def test_the_next_load_fills_the_new_dimension_columns(tmp_path):
    _old_lake(tmp_path)
    incoming = dims.product_rows(
        [{"id": 7, "name": "Desk", "display_name": "[D1] Desk (Steel)", "product_tmpl_id": [3, "Desk"],
          "barcode": "540", "product_template_variant_value_ids": [11], "categ_id": [4, "Furniture"],
          "write_date": "2025-01-03 10:00:00"}],
        [{"id": 4, "name": "Furniture", "complete_name": "All / Furniture"}],
        [], None, None, [{"id": 11, "name": "Steel"}], "product_template_variant_value_ids",
    )
    summary = dims.upsert_table(str(tmp_path), "dim_products", incoming)
    assert (summary.inserted, summary.updated) == (0, 1)
    row = pq.read_table(lake.dimension_file(tmp_path, "dim_products")).to_pylist()[0]
    assert row["product_display_name"] == "[D1] Desk (Steel)"
    assert (row["product_tmpl_id"], row["template_name"], row["variant_values"]) == (3, "Desk", "Steel")


def test_staff_merge_keys_on_type_and_id_and_ignores_a_newer_read_of_the_same_name(tmp_path):
    first = [{"staff_type": "user", "staff_id": 6, "staff_name": "Amélie", "source_write_date": datetime(2025, 1, 1)},
             {"staff_type": "employee", "staff_id": 6, "staff_name": "Tom", "source_write_date": datetime(2025, 1, 1)}]
    assert dims.upsert_table(str(tmp_path), "dim_staff", first).rows == 2
    again = [{**first[0], "source_write_date": datetime(2025, 1, 2)}]
    assert dims.upsert_table(str(tmp_path), "dim_staff", again).updated == 0
    renamed = [{**first[1], "staff_name": "Tom W.", "source_write_date": datetime(2025, 1, 3)}]
    summary = dims.upsert_table(str(tmp_path), "dim_staff", renamed)
    assert (summary.rows, summary.updated) == (2, 1)
