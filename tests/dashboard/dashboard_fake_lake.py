"""A small lake with known totals, written with the real Arrow schemas and the lake writer.

60 business days (2025-01-01 .. 2025-03-01), three stores, three categories, two brands
and one product without a brand, refunds, one day that was never loaded (no file) and one
loaded day without sales (an empty, typed file). The rows are kept so tests compute every
expected total in Python, with Decimal, from what was written.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pyarrow as pa

from include.etl import lake, schema

START = date(2025, 1, 1)
DAYS = 60
END = START + timedelta(days=DAYS - 1)  # 2025-03-01
MISSING_DAY = date(2025, 2, 10)
ZERO_SALES_DAY = date(2025, 2, 11)
CURRENCY = "EUR"
STORES = {1: "Brussels Centre", 2: "Ghent Korenmarkt", 3: "Antwerp Meir"}
CATEGORIES = {10: "All / Saleable / Drinks", 11: "All / Saleable / Food", 12: "All / Saleable / Merch"}
BRANDS = {1: "Acme", 2: "Brewco"}
NO_BRAND_PRODUCT = 105
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Product:
    product_id: int
    name: str
    category_id: int
    brand_id: int | None
    price: Decimal
    unit_cost: Decimal
    tax: Decimal


def _products() -> list[Product]:
    out = []
    for i in range(24):
        pid = 100 + i
        category = 10 + i % 3
        brand = None if pid == NO_BRAND_PRODUCT else 1 + i % 2
        price = Decimal(2 + (i * 37) % 23) + Decimal("0.50")
        out.append(
            Product(
                pid,
                f"Product {pid}",
                category,
                brand,
                price,
                (price * Decimal("0.4")).quantize(CENT),
                Decimal("0.06") if category == 11 else Decimal("0.21"),
            )
        )
    return out


PRODUCTS = {p.product_id: p for p in _products()}


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _line(
    day: date,
    order_id: int,
    line_id: int,
    store_id: int,
    hour: int,
    product: Product,
    qty: Decimal,
    discount_pct: Decimal,
    refunded: int | None,
) -> dict:
    gross = product.price * qty
    excl = money(gross - gross * discount_pct / 100)
    revenue = money(excl * (1 + product.tax))
    cost = money(product.unit_cost * qty)
    return {
        "date": day,
        "order_id": order_id,
        "order_name": f"Shop/{order_id:05d}",
        "line_id": line_id,
        "product_id": product.product_id,
        "store_id": store_id,
        "store_name": STORES[store_id],
        "session_id": store_id * 1000 + (day - START).days,
        "company_id": 1,
        "currency": CURRENCY,
        "order_state": "done",
        "order_ts_utc": datetime(day.year, day.month, day.day, hour, 15),
        "local_hour": hour,
        "quantity": qty,
        "price_unit": product.price,
        "discount_pct": discount_pct,
        "revenue": revenue,
        "revenue_excl_tax": excl,
        "tax_amount": revenue - excl,
        "discount_amount": money(gross * discount_pct / 100),
        "cost": cost,
        "margin": excl - cost,
        "is_refund": qty < 0,
        "refunded_line_id": refunded,
    }


def generate_rows(
    seed: int = 7,
    start: date = START,
    days: int = DAYS,
    skip: tuple[date, ...] = (MISSING_DAY, ZERO_SALES_DAY),
    first_order: int = 5000,
) -> list[dict]:
    rng = random.Random(seed)
    rows: list[dict] = []
    order_id, line_id = first_order, first_order * 18
    products = list(PRODUCTS.values())
    for offset in range(days):
        day = start + timedelta(days=offset)
        if day in skip:
            continue
        for store_id in STORES:
            if store_id == 3 and offset % 7 == 6:
                continue  # the small shop closes one day a week
            for _ in range(rng.randint(1, 4)):
                order_id += 1
                hour = rng.randint(7, 21)
                order_lines = []
                for _ in range(rng.randint(1, 3)):
                    line_id += 1
                    product = rng.choice(products)
                    order_lines.append(
                        _line(
                            day,
                            order_id,
                            line_id,
                            store_id,
                            hour,
                            product,
                            Decimal(rng.randint(1, 3)),
                            rng.choice([Decimal(0)] * 3 + [Decimal(10)]),
                            None,
                        )
                    )
                rows.extend(order_lines)
                if rng.random() < 0.12:  # a refund of the first line, in its own order
                    order_id += 1
                    line_id += 1
                    first = order_lines[0]
                    rows.append(
                        _line(
                            day,
                            order_id,
                            line_id,
                            store_id,
                            min(hour + 1, 23),
                            PRODUCTS[first["product_id"]],
                            -first["quantity"],
                            first["discount_pct"],
                            first["line_id"],
                        )
                    )
    return rows


def cash_difference(day: date, store_id: int) -> Decimal:
    """The counted minus expected cash of the day's session of a store: a few are short."""
    return Decimal("-2.50") if (day.toordinal() + store_id) % 7 == 0 else Decimal("0.00")


def session_rows(rows: list[dict]) -> list[dict]:
    """One closed session per store and day with sales (fact_sessions), with known cash differences."""
    out = {}
    for r in rows:
        key = (r["date"], r["store_id"])
        if key in out:
            continue
        day, store_id = key
        opened = datetime(day.year, day.month, day.day, 7, 0)
        closed = datetime(day.year, day.month, day.day, 22, 0)
        expected = Decimal("200.00")
        out[key] = {
            "date": day,
            "session_id": r["session_id"],
            "session_name": f"POS/{r['session_id']:05d}",
            "store_id": store_id,
            "store_name": STORES[store_id],
            "state": "closed",
            "opened_by_id": 2,
            "opened_by": "Mitchell Admin",
            "closed_by_id": 2,
            "closed_by": "Mitchell Admin",
            "start_local": opened,
            "stop_local": closed,
            "start_utc": opened,
            "stop_utc": closed,
            "opening_cash": Decimal("100.00"),
            "cash_moves": Decimal("0.00"),
            "expected_cash": expected,
            "counted_cash": expected + cash_difference(day, store_id),
            "cash_difference": cash_difference(day, store_id),
            "currency": CURRENCY,
        }
    return list(out.values())


def write_days(root: Path, rows: list[dict], days: list[date]) -> None:
    """The fact_sales and fact_sessions files of `days` (a day without rows gets empty, typed files)."""
    by_day: dict[date, list[dict]] = {}
    for row in rows:
        by_day.setdefault(row["date"], []).append(row)
    for day in days:
        table = pa.Table.from_pylist(by_day.get(day, []), schema=schema.FACT_SALES)
        lake.write_parquet_atomic(table, lake.partition_file(root, lake.FACT_SALES, day))
        sessions = pa.Table.from_pylist(session_rows(by_day.get(day, [])), schema=schema.FACT_SESSIONS)
        lake.write_parquet_atomic(sessions, lake.partition_file(root, lake.FACT_SESSIONS, day))


# A year earlier, for like-for-like growth: 1–14 February 2024 except the 5th (never loaded).
YEAR_BEFORE_START = date(2024, 2, 1)
YEAR_BEFORE_DAYS = 14
YEAR_BEFORE_MISSING = date(2024, 2, 5)


def generate_year_before_rows() -> list[dict]:
    return generate_rows(seed=11, start=YEAR_BEFORE_START, days=YEAR_BEFORE_DAYS, skip=(), first_order=1000)


def write_year_before(root: Path, rows: list[dict]) -> None:
    days = [YEAR_BEFORE_START + timedelta(days=i) for i in range(YEAR_BEFORE_DAYS)]
    write_days(root, rows, [d for d in days if d != YEAR_BEFORE_MISSING])


def write_lake(root: Path, rows: list[dict]) -> None:
    days = [START + timedelta(days=offset) for offset in range(DAYS)]
    write_days(root, rows, [d for d in days if d != MISSING_DAY])
    loaded = datetime(2025, 3, 2, 2, 0)
    products = [
        {
            "product_id": p.product_id,
            "product_name": p.name,
            "default_code": f"P{p.product_id}",
            "category_id": p.category_id,
            "product_category": CATEGORIES[p.category_id],
            "pos_category": None,
            "brand_id": p.brand_id,
            "brand_name": BRANDS.get(p.brand_id) if p.brand_id else None,
            "list_price": p.price,
            "active": True,
            "source_write_date": loaded,
        }
        for p in PRODUCTS.values()
    ]
    categories = [
        {
            "category_id": cid,
            "category_name": name.rsplit(" / ", 1)[-1],
            "complete_name": name,
            "parent_id": None,
            "source_write_date": loaded,
        }
        for cid, name in CATEGORIES.items()
    ]
    brands = [{"brand_id": bid, "brand_name": name, "source_write_date": loaded} for bid, name in BRANDS.items()]
    for name, data, arrow_schema in (
        ("dim_products", products, schema.DIM_PRODUCTS),
        ("dim_categories", categories, schema.DIM_CATEGORIES),
        ("dim_brands", brands, schema.DIM_BRANDS),
    ):
        lake.write_parquet_atomic(pa.Table.from_pylist(data, schema=arrow_schema), lake.dimension_file(root, name))


# ------------------------------------------------------------------ expected values


def select(
    rows: list[dict],
    start: date,
    end: date,
    store: int | None = None,
    category: str | None = None,
    brand: str | None = None,
) -> list[dict]:
    def keep(row: dict) -> bool:
        product = PRODUCTS[row["product_id"]]
        return (
            start <= row["date"] <= end
            and (store is None or row["store_id"] == store)
            and (category is None or CATEGORIES[product.category_id] == category)
            and (brand is None or BRANDS.get(product.brand_id, "No brand") == brand)
        )

    return [row for row in rows if keep(row)]


def totals(rows: list[dict]) -> dict:
    """The KPIs of the dashboard computed from `rows` by hand."""
    refunds = [r for r in rows if r["is_refund"]]
    return {
        "revenue": sum((r["revenue"] for r in rows), Decimal(0)),
        "revenue_excl_tax": sum((r["revenue_excl_tax"] for r in rows), Decimal(0)),
        "orders": len({r["order_id"] for r in rows}),
        "units": sum((r["quantity"] for r in rows), Decimal(0)),
        "margin": sum((r["margin"] for r in rows), Decimal(0)),
        "discounts": sum((r["discount_amount"] for r in rows), Decimal(0)),
        "refunds": sum((r["revenue"] for r in refunds), Decimal(0)),
        "refund_lines": len(refunds),
        "refund_orders": len({r["order_id"] for r in refunds}),
        "lines": len(rows),
    }


def fmt_money(value: Decimal) -> str:
    """Money as the dashboard writes it in the default locale (en_US): `€1,234.50`, `-€3.00`."""
    sign = "-" if value < 0 else ""
    return f"{sign}€{abs(value):,.2f}"


# ------------------------------------------------------------------ a lake at real size (issue 8)
# Written against the lake contract with the store dimension, the variant columns of
# dim_products and the seller columns of fact_sales: 60 brands, one template sold in 5
# variants, amounts in the millions, and fact store names carrying Odoo's session suffix
# (what `pos.order.config_id` displays) while dim_stores holds the stored name.

BIG_START = date(2025, 1, 1)
BIG_DAYS = 30
BIG_END = BIG_START + timedelta(days=BIG_DAYS - 1)
BIG_BRANDS = {
    b: f"Brand {b:02d} " + ("International Furniture Manufacturing Group" if b % 5 == 0 else "Co") for b in range(1, 61)
}
DESK_TEMPLATE = 900
DESK_VARIANTS = {
    900 + i: values
    for i, values in enumerate(("Steel, White", "Steel, Black", "Oak, White", "Oak, Black", "Walnut, Red"))
}
SESSION_NAMES = {1: "Brussels Centre (not used)", 2: "Shop 2 – Gare (Mitchell Admin)", 3: "Antwerp Meir (not used)"}


def _big_products() -> dict[int, Product]:
    out = {}
    for i in range(120):
        pid = 1000 + i
        price = Decimal(800 + (i * 97) % 2200) + Decimal("0.90")
        out[pid] = Product(
            pid,
            f"Office product {pid}",
            10 + i % 3,
            1 + i % 60,
            price,
            (price * Decimal("0.5")).quantize(CENT),
            Decimal("0.21"),
        )
    for pid in DESK_VARIANTS:
        price = Decimal("2499.00")
        out[pid] = Product(pid, "Customizable Desk", 12, 7, price, Decimal("1200.00"), Decimal("0.21"))
    return out


BIG_PRODUCTS = _big_products()


def generate_big_rows(seed: int = 5) -> list[dict]:
    rng = random.Random(seed)
    rows: list[dict] = []
    order_id, line_id = 700_000, 9_000_000
    regular = [p for pid, p in BIG_PRODUCTS.items() if pid not in DESK_VARIANTS]
    desks = [BIG_PRODUCTS[pid] for pid in DESK_VARIANTS]
    saved = dict(PRODUCTS)
    PRODUCTS.update(BIG_PRODUCTS)  # `_line` looks products up by id
    try:
        for offset in range(BIG_DAYS):
            day = BIG_START + timedelta(days=offset)
            for store_id in STORES:
                for _ in range(12):
                    order_id += 1
                    hour = rng.randint(8, 20)
                    for n in range(rng.randint(1, 3)):
                        line_id += 1
                        product = rng.choice(desks) if n == 0 and rng.random() < 0.3 else rng.choice(regular)
                        row = _line(
                            day,
                            order_id,
                            line_id,
                            store_id,
                            hour,
                            product,
                            Decimal(rng.randint(1, 3)),
                            Decimal(0),
                            None,
                        )
                        row["store_name"] = SESSION_NAMES[store_id]
                        row["user_id"] = 2
                        row["employee_id"] = None
                        rows.append(row)
    finally:
        PRODUCTS.clear()
        PRODUCTS.update(saved)
    return rows


def big_select(rows: list[dict], start: date, end: date, store: int | None = None) -> list[dict]:
    return [r for r in rows if start <= r["date"] <= end and (store is None or r["store_id"] == store)]


def store_rows(loaded: datetime) -> list[dict]:
    """`dim_stores` rows of the fake lakes' stores, as read at `loaded`."""
    return [
        {
            "store_id": sid,
            "store_name": name,
            "company_id": 1,
            "company_name": "NK Shops",
            "currency": CURRENCY,
            "active": True,
            "source_write_date": loaded,
        }
        for sid, name in STORES.items()
    ]


def write_big_lake(root: Path, rows: list[dict]) -> None:
    from bench.lakegen import DIM_PRODUCTS, DIM_STORES, FACT_SALES

    by_day: dict[date, list[dict]] = {}
    for row in rows:
        by_day.setdefault(row["date"], []).append(row)
    for offset in range(BIG_DAYS):
        day = BIG_START + timedelta(days=offset)
        table = pa.Table.from_pylist(by_day.get(day, []), schema=FACT_SALES)
        lake.write_parquet_atomic(table, lake.partition_file(root, lake.FACT_SALES, day))
    loaded = datetime(2025, 2, 1, 2, 0)
    products = []
    for p in BIG_PRODUCTS.values():
        values = DESK_VARIANTS.get(p.product_id)
        code = "FURN_0096" if values else f"OFF_{p.product_id}"
        products.append(
            {
                "product_id": p.product_id,
                "product_name": p.name,
                "default_code": code,
                "category_id": p.category_id,
                "product_category": CATEGORIES[p.category_id],
                "pos_category": None,
                "brand_id": p.brand_id,
                "brand_name": BIG_BRANDS[p.brand_id],
                "list_price": p.price,
                "active": True,
                "source_write_date": loaded,
                "product_tmpl_id": DESK_TEMPLATE if values else p.product_id,
                "template_name": p.name,
                "variant_values": values,
                "barcode": None,
                "product_display_name": f"[{code}] {p.name}" + (f" ({values})" if values else ""),
            }
        )
    stores = store_rows(loaded)
    lake.write_parquet_atomic(
        pa.Table.from_pylist(products, schema=DIM_PRODUCTS), lake.dimension_file(root, "dim_products")
    )
    lake.write_parquet_atomic(pa.Table.from_pylist(stores, schema=DIM_STORES), lake.dimension_file(root, "dim_stores"))
    categories = [
        {
            "category_id": cid,
            "category_name": name.rsplit(" / ", 1)[-1],
            "complete_name": name,
            "parent_id": None,
            "source_write_date": loaded,
        }
        for cid, name in CATEGORIES.items()
    ]
    brands = [{"brand_id": b, "brand_name": n, "source_write_date": loaded} for b, n in BIG_BRANDS.items()]
    lake.write_parquet_atomic(
        pa.Table.from_pylist(categories, schema=schema.DIM_CATEGORIES), lake.dimension_file(root, "dim_categories")
    )
    lake.write_parquet_atomic(
        pa.Table.from_pylist(brands, schema=schema.DIM_BRANDS), lake.dimension_file(root, "dim_brands")
    )
