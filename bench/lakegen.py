"""Synthetic lakes of real size, written with the project's own schemas and lake writer.

`generate(root, lines, days)` writes `days` daily `fact_sales` partitions ending on
2025-12-31 (≈ `lines` order lines in all) plus `dim_products`, `dim_categories`,
`dim_brands` and `dim_stores`, in the layout of docs/lake-contract.md and through
`include.etl.lake.write_parquet_atomic`. Shape (issue 10): 3 stores, 5,000 products
(templates of 1–5 variants), 40 categories, 60 brands (each brand sells in 3 categories),
≈ 3 lines per order, opening hours 08–21 with a lunch and an evening peak, ≈ 2 % refunds.
Deterministic for a given seed. Money is exact: every amount is built in integer cents.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from include.etl import lake, schema

STORES = {1: "Brussels Centre", 2: "Ghent Korenmarkt", 3: "Antwerp Meir"}
N_PRODUCTS = 5_000
N_CATEGORIES = 40
N_BRANDS = 60
LAST_DAY = date(2025, 12, 31)
CURRENCY = "EUR"

# The lake contract's additions of issue 8 (written by the ETL from now on).
FACT_SALES = pa.schema(
    list(schema.FACT_SALES)
    + [
        f
        for f in (pa.field("user_id", pa.int64()), pa.field("employee_id", pa.int64()))
        if f.name not in schema.FACT_SALES.names
    ]
)
# The lake contract's own schemas (issue 8 added the variant columns and dim_stores).
DIM_PRODUCTS = schema.DIM_PRODUCTS
DIM_STORES = schema.DIM_STORES
_VALUES = ("S", "M", "L", "XL", "XXL")


def _decimal(cents: np.ndarray, arrow_type: pa.DataType) -> pa.Array:
    """An exact decimal array from integer units of its scale (cents for scale 2)."""
    low = cents.astype(np.int64)
    pairs = np.empty((len(low), 2), dtype=np.int64)
    pairs[:, 0] = low
    pairs[:, 1] = np.where(low < 0, -1, 0)
    return pa.Array.from_buffers(arrow_type, len(low), [None, pa.py_buffer(pairs.tobytes())])


def products(seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    brand_categories = rng.integers(0, N_CATEGORIES, size=(N_BRANDS, 3))
    brand = rng.integers(0, N_BRANDS + 6, size=N_PRODUCTS)  # ids >= N_BRANDS: no brand
    category = np.where(
        brand < N_BRANDS,
        brand_categories[np.minimum(brand, N_BRANDS - 1), rng.integers(0, 3, size=N_PRODUCTS)],
        rng.integers(0, N_CATEGORIES, size=N_PRODUCTS),
    )
    price_cents = (rng.lognormal(mean=2.3, sigma=0.8, size=N_PRODUCTS) * 100).astype(np.int64) + 50
    # Templates: consecutive products share a template in runs of 1–5 variants.
    tmpl = np.zeros(N_PRODUCTS, dtype=np.int64)
    variant = np.zeros(N_PRODUCTS, dtype=np.int64)
    i, t = 0, 0
    while i < N_PRODUCTS:
        run = int(rng.choice([1, 1, 1, 2, 3, 5]))
        for v in range(min(run, N_PRODUCTS - i)):
            tmpl[i + v], variant[i + v] = t, (v if run > 1 else -1)
            # variants of one template share category, brand and price
            category[i + v], brand[i + v], price_cents[i + v] = category[i], brand[i], price_cents[i]
        i += run
        t += 1
    weight = 1.0 / np.arange(1, N_PRODUCTS + 1) ** 0.8  # a long tail, as in a real shop
    rng.shuffle(weight)
    return {
        "category": category,
        "brand": brand,
        "price_cents": price_cents,
        "tmpl": tmpl,
        "variant": variant,
        "p": weight / weight.sum(),
    }


def _day_table(day: date, n: int, prod: dict, rng: np.random.Generator, ids: dict) -> pa.Table:
    n_orders = max(1, n // 3)
    order_of_line = np.sort(rng.integers(0, n_orders, size=n))
    order_ids = ids["order"] + order_of_line
    ids["order"] += n_orders
    line_ids = ids["line"] + np.arange(n)
    ids["line"] += n
    store = (rng.integers(0, 100, size=n_orders) % 3 + 1)[order_of_line]
    hour = rng.choice(
        np.arange(8, 22),
        size=n_orders,
        p=np.array([2, 4, 6, 9, 10, 7, 5, 5, 6, 8, 10, 12, 9, 7], dtype=float) / 100,
    )[order_of_line]
    minute = rng.integers(0, 60, size=n_orders)[order_of_line]
    product = rng.choice(N_PRODUCTS, size=n, p=prod["p"])
    qty = rng.choice([1, 1, 1, 1, 2, 2, 3, 5], size=n)
    refund = rng.random(n) < 0.02
    qty = np.where(refund, -qty, qty)
    price = prod["price_cents"][product]
    disc = np.where(rng.random(n) < 0.1, 10, 0)
    gross = price * qty
    discount = np.round(gross * disc / 100).astype(np.int64)
    excl = gross - discount
    tax_rate = np.where(prod["category"][product] % 4 == 0, 6, 21)
    revenue = np.round(excl * (100 + tax_rate) / 100).astype(np.int64)
    cost = np.round(price * 0.45).astype(np.int64) * qty
    ts = np.datetime64(datetime(day.year, day.month, day.day)) + (hour * 60 + minute).astype("timedelta64[m]")
    cols = {
        "date": pa.array(np.full(n, np.datetime64(day, "D")), pa.date32()),
        "order_id": pa.array(order_ids, pa.int64()),
        "order_name": pa.array([f"Shop/{o:07d}" for o in order_ids], pa.string()),
        "line_id": pa.array(line_ids, pa.int64()),
        "product_id": pa.array(product + 1, pa.int64()),
        "store_id": pa.array(store, pa.int64()),
        "store_name": pa.array(np.array(list(STORES.values()), dtype=object)[store - 1], pa.string()),
        "session_id": pa.array(store * 100_000 + (day - LAST_DAY).days + 10_000, pa.int64()),
        "company_id": pa.array(np.ones(n, dtype=np.int64), pa.int64()),
        "currency": pa.array([CURRENCY] * n, pa.string()),
        "order_state": pa.array(["done"] * n, pa.string()),
        "order_ts_utc": pa.array(ts.astype("datetime64[us]"), pa.timestamp("us")),
        "local_hour": pa.array(hour.astype(np.int8), pa.int8()),
        "quantity": _decimal(qty * 1000, schema.QTY),
        "price_unit": _decimal(price * 100, pa.decimal128(18, 4)),
        "discount_pct": _decimal(disc * 100, pa.decimal128(6, 2)),
        "revenue": _decimal(revenue, schema.MONEY),
        "revenue_excl_tax": _decimal(excl, schema.MONEY),
        "tax_amount": _decimal(revenue - excl, schema.MONEY),
        "discount_amount": _decimal(discount, schema.MONEY),
        "cost": _decimal(cost, schema.MONEY),
        "margin": _decimal(excl - cost, schema.MONEY),
        "is_refund": pa.array(refund, pa.bool_()),
        "refunded_line_id": pa.array(np.where(refund, line_ids - 1, 0), pa.int64(), mask=~refund),
        "user_id": pa.array(store + 1, pa.int64()),
        "employee_id": pa.array(np.zeros(n, dtype=np.int64), pa.int64(), mask=np.ones(n, dtype=bool)),
    }
    # Columns the contract gains later (e.g. payments, customers) are written as nulls.
    return pa.table([cols.get(f.name, pa.nulls(n, f.type)) for f in FACT_SALES], schema=FACT_SALES)


def write_dimensions(root: Path, prod: dict, stamp: datetime) -> None:
    cat_names = [f"All / Saleable / Category {c:02d}" for c in range(N_CATEGORIES)]
    brand_names = [f"Brand {b:02d} {'Manufacturing Company' if b % 7 == 0 else 'Co'}" for b in range(N_BRANDS)]
    rows = []
    for i in range(N_PRODUCTS):
        pid, b, v = i + 1, int(prod["brand"][i]), int(prod["variant"][i])
        name = f"Product template {int(prod['tmpl'][i]):04d}"
        values = f"{_VALUES[v]}, White" if v >= 0 else None
        code = f"P{pid:05d}"
        rows.append(
            {
                "product_id": pid,
                "product_name": name,
                "default_code": code,
                "category_id": int(prod["category"][i]) + 1,
                "product_category": cat_names[int(prod["category"][i])],
                "pos_category": None,
                "brand_id": b + 1 if b < N_BRANDS else None,
                "brand_name": brand_names[b] if b < N_BRANDS else None,
                "list_price": None,
                "active": True,
                "source_write_date": stamp,
                "product_tmpl_id": int(prod["tmpl"][i]) + 1,
                "template_name": name,
                "variant_values": values,
                "barcode": f"54{pid:011d}",
                "product_display_name": f"[{code}] {name}" + (f" ({values})" if values else ""),
            }
        )
    tables = {
        "dim_products": pa.Table.from_pylist(rows, schema=DIM_PRODUCTS),
        "dim_categories": pa.Table.from_pylist(
            [
                {
                    "category_id": c + 1,
                    "category_name": n.rsplit(" / ", 1)[-1],
                    "complete_name": n,
                    "parent_id": None,
                    "source_write_date": stamp,
                }
                for c, n in enumerate(cat_names)
            ],
            schema=schema.DIM_CATEGORIES,
        ),
        "dim_brands": pa.Table.from_pylist(
            [{"brand_id": b + 1, "brand_name": n, "source_write_date": stamp} for b, n in enumerate(brand_names)],
            schema=schema.DIM_BRANDS,
        ),
        "dim_stores": pa.Table.from_pylist(
            [
                {
                    "store_id": s,
                    "store_name": n,
                    "company_id": 1,
                    "company_name": "NK Shops",
                    "currency": CURRENCY,
                    "active": True,
                    "source_write_date": stamp,
                }
                for s, n in STORES.items()
            ],
            schema=DIM_STORES,
        ),
    }
    for name, table in tables.items():
        lake.write_parquet_atomic(table, lake.dimension_file(root, name))


def generate(root: str | Path, lines: int, days: int = 1_095, seed: int = 1, last_day: date = LAST_DAY) -> dict:
    """Write the lake at `root` (unless its `_bench.json` says it is already this lake)."""
    root = Path(root)
    stamp_file = root / "_bench.json"
    spec = {"lines": lines, "days": days, "seed": seed, "last_day": last_day.isoformat(), "version": 2}
    if stamp_file.exists() and json.loads(stamp_file.read_text()).get("spec") == spec:
        return json.loads(stamp_file.read_text())
    started = time.perf_counter()
    prod = products(seed)
    rng = np.random.default_rng(seed + 1)
    ids = {"order": 1_000_000, "line": 10_000_000}
    per_day = lines / days
    first = last_day - timedelta(days=days - 1)
    written = 0
    for i in range(days):
        day = first + timedelta(days=i)
        weekday_factor = (0.8, 0.85, 0.9, 1.0, 1.15, 1.4, 0.9)[day.weekday()]
        n = max(1, int(rng.poisson(per_day * weekday_factor / 1.0)))
        table = _day_table(day, n, prod, rng, ids)
        lake.write_parquet_atomic(table, lake.partition_file(root, lake.FACT_SALES, day))
        written += table.num_rows
    write_dimensions(root, prod, datetime(last_day.year, last_day.month, last_day.day, 23, 0))
    info = {"spec": spec, "rows": written, "seconds": round(time.perf_counter() - started, 1)}
    stamp_file.write_text(json.dumps(info))
    return info


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=1_095)
    args = parser.parse_args(argv)
    print(json.dumps(generate(args.root, args.lines, args.days)))


if __name__ == "__main__":
    main()
