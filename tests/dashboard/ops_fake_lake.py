"""The dashboard's generated lake (dashboard_fake_lake) with payments, sessions and customers.

Same 60 days, stores and sales lines; on top of them, as the ETL writes them:
- `partner_id` on 40 % of the orders (a pool of 30 customers, `dim_customers` with names only);
- `fact_payments`: per order cash (tendered in round notes, with a change line), card or
  customer account; store 2 rounds cash to 0.05 (so payments - revenue = the cash rounding);
  refund orders are paid back (negative, `is_refund`);
- `fact_sessions`: one session per store and day with sales, expected cash = opening + cash
  payments, some counted with a difference; on the last day store 1's session is still open;
- the first `OLD_DAYS` days were loaded before payments and customers existed: their fact
  files have no `partner_id` column and they have no payments or sessions file.
Every expected figure is recomputed in Python, with Decimal, from what was written.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from pathlib import Path

import pyarrow as pa
from dashboard_fake_lake import CURRENCY, DAYS, END, MISSING_DAY, START, STORES, generate_rows, store_rows, write_lake

from include.etl import lake, schema

OLD_DAYS = 5  # 2025-01-01 .. 2025-01-05: no partner_id column, no payments or sessions file
FIRST_NEW_DAY = START + timedelta(days=OLD_DAYS)
CUSTOMERS = {7001 + i: f"Customer {7001 + i:04d}" for i in range(30)}
ROUNDING_STORE = 2
STEP = Decimal("0.05")
CASH_METHODS = {1: "Cash Brussels", 2: "Cash Ghent", 3: "Cash Antwerp"}
CARD, ACCOUNT = 10, 11
METHODS = {
    **{m: (n, "cash") for m, n in CASH_METHODS.items()},
    CARD: ("Card", "bank"),
    ACCOUNT: ("Customer Account", "pay_later"),
}
OPEN_SESSION_STORE = 1
DIFFERENCES = [Decimal(0)] * 4 + [Decimal("0.50"), Decimal("-2.35"), Decimal("-12.00"), Decimal("5.10")]
CASHIERS = {1: "Mitchell Admin", 2: "Marc Demo", 3: "Abigail Peterson"}


@dataclass
class OpsLake:
    rows: list[dict]
    payments: list[dict] = field(default_factory=list)
    sessions: list[dict] = field(default_factory=list)


def _round_cash(value: Decimal) -> Decimal:
    return (value / STEP).quantize(Decimal(1), rounding=ROUND_HALF_UP) * STEP


def generate(seed: int = 11) -> OpsLake:
    rng = random.Random(seed)
    rows = [dict(r) for r in generate_rows()]
    orders: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        orders[row["order_id"]].append(row)
    for order_id in sorted(orders):
        lines = orders[order_id]
        partner = rng.choice(list(CUSTOMERS)) if rng.random() < 0.4 else None
        for row in lines:
            row["partner_id"] = partner if row["date"] >= FIRST_NEW_DAY else None
    out = OpsLake(rows)
    payment_id = 40_000
    for order_id in sorted(orders):
        lines = orders[order_id]
        first = lines[0]
        if first["date"] < FIRST_NEW_DAY:
            continue
        total = sum((r["revenue"] for r in lines), Decimal(0))
        store = first["store_id"]
        kind = rng.choice(["cash", "cash", "card", "card", "account"])
        if kind == "account" and first["partner_id"] is None:
            kind = "card"
        base = {
            "date": first["date"],
            "order_id": order_id,
            "order_name": first["order_name"],
            "store_id": store,
            "session_id": first["session_id"],
            "company_id": 1,
            "currency": CURRENCY,
            "payment_ts_utc": first["order_ts_utc"],
            "order_state": "done",
        }

        def pay(method: int, amount: Decimal, is_change: bool = False, base: dict = base) -> None:
            nonlocal payment_id
            payment_id += 1
            name, mtype = METHODS[method]
            out.payments.append(
                {
                    **base,
                    "payment_id": payment_id,
                    "payment_method_id": method,
                    "payment_method_name": name,
                    "payment_method_type": mtype,
                    "amount": amount,
                    "is_change": is_change,
                    "is_refund": amount < 0 and not is_change,
                }
            )

        if kind == "cash":
            due = _round_cash(total) if store == ROUNDING_STORE else total
            if due > 0:
                tendered = (due / 5).quantize(Decimal(1), rounding=ROUND_CEILING) * 5
                pay(store, tendered)
                if tendered > due:
                    pay(store, due - tendered, is_change=True)
            else:
                pay(store, due)
        else:
            pay(CARD if kind == "card" else ACCOUNT, total)
    cash_by_session: dict[int, Decimal] = defaultdict(Decimal)
    for p in out.payments:
        if p["payment_method_type"] == "cash":
            cash_by_session[p["session_id"]] += p["amount"]
    sessions_seen = sorted({(r["date"], r["store_id"], r["session_id"]) for r in rows if r["date"] >= FIRST_NEW_DAY})
    for i, (day, store, session_id) in enumerate(sessions_seen):
        expected = Decimal("100.00") + cash_by_session[session_id]
        is_open = day == END and store == OPEN_SESSION_STORE
        difference = None if is_open else DIFFERENCES[i % len(DIFFERENCES)]
        start = datetime(day.year, day.month, day.day, 7, 30)
        out.sessions.append(
            {
                "date": day,
                "session_id": session_id,
                "session_name": f"POS/{session_id:05d}",
                "store_id": store,
                "store_name": STORES[store],
                "state": "opened" if is_open else "closed",
                "opened_by_id": store,
                "opened_by": CASHIERS[store],
                "closed_by_id": None if is_open else 1,
                "closed_by": None if is_open else CASHIERS[1],
                "start_local": start,
                "stop_local": None if is_open else start + timedelta(hours=14),
                "start_utc": start - timedelta(hours=1),
                "stop_utc": None if is_open else start + timedelta(hours=13),
                "opening_cash": Decimal("100.00"),
                "cash_moves": Decimal("0.00"),
                "expected_cash": expected,
                "counted_cash": None if is_open else expected + difference,
                "cash_difference": difference,
                "currency": CURRENCY,
            }
        )
    return out


def write(root: Path, data: OpsLake) -> None:
    """The dashboard's lake, then the ops additions written over it with the real schemas."""
    write_lake(root, data.rows)
    by_day: dict[date, list[dict]] = defaultdict(list)
    for row in data.rows:
        by_day[row["date"]].append(row)
    for offset in range(DAYS):
        day = START + timedelta(days=offset)
        if day == MISSING_DAY:
            continue
        table = pa.Table.from_pylist(by_day.get(day, []), schema=schema.FACT_SALES)
        if day < FIRST_NEW_DAY:
            table = table.drop_columns(["partner_id"])  # loaded before the column existed
        lake.write_parquet_atomic(table, lake.partition_file(root, lake.FACT_SALES, day))
        if day < FIRST_NEW_DAY:
            lake.partition_file(root, lake.FACT_SESSIONS, day).unlink(missing_ok=True)  # loaded before sessions
            continue
        for name, rows, arrow_schema in (
            (lake.FACT_PAYMENTS, data.payments, schema.FACT_PAYMENTS),
            (lake.FACT_SESSIONS, data.sessions, schema.FACT_SESSIONS),
        ):
            day_rows = [r for r in rows if r["date"] == day]
            lake.write_parquet_atomic(
                pa.Table.from_pylist(day_rows, schema=arrow_schema), lake.partition_file(root, name, day)
            )
    loaded = datetime(2025, 3, 2, 2, 0)
    customers = [{"customer_id": c, "customer_name": n, "source_write_date": loaded} for c, n in CUSTOMERS.items()]
    stores = store_rows(loaded)
    lake.write_parquet_atomic(
        pa.Table.from_pylist(customers, schema=schema.DIM_CUSTOMERS), lake.dimension_file(root, "dim_customers")
    )
    lake.write_parquet_atomic(
        pa.Table.from_pylist(stores, schema=schema.DIM_STORES), lake.dimension_file(root, "dim_stores")
    )


# ------------------------------------------------------------------ expected values


def in_period(rows: list[dict], start: date, end: date, store: int | None = None) -> list[dict]:
    return [r for r in rows if start <= r["date"] <= end and (store is None or r["store_id"] == store)]


def payment_totals(data: OpsLake, start: date, end: date, store: int | None = None) -> dict:
    pays = in_period(data.payments, start, end, store)
    lines = [r for r in in_period(data.rows, start, end, store) if r["date"] >= FIRST_NEW_DAY]
    by_method: dict[str, Decimal] = defaultdict(Decimal)
    by_type: dict[str, Decimal] = defaultdict(Decimal)
    count_by_method: dict[str, int] = defaultdict(int)
    for p in pays:
        by_method[p["payment_method_name"]] += p["amount"]
        by_type[p["payment_method_type"]] += p["amount"]
        count_by_method[p["payment_method_name"]] += not p["is_change"]
    amount = sum((p["amount"] for p in pays), Decimal(0))
    return {
        "amount": amount,
        "payments": sum(not p["is_change"] for p in pays),
        "by_method": dict(by_method),
        "count_by_method": dict(count_by_method),
        "by_type": dict(by_type),
        "change": -sum((p["amount"] for p in pays if p["is_change"]), Decimal(0)),
        "change_count": sum(p["is_change"] for p in pays),
        "refunds": sum((p["amount"] for p in pays if p["is_refund"]), Decimal(0)),
        "refund_count": sum(p["is_refund"] for p in pays),
        "rounding": amount - sum((r["revenue"] for r in lines), Decimal(0)),
    }


def flagged_sessions(data: OpsLake, start: date, end: date, threshold: Decimal, store: int | None = None) -> list:
    return [
        s
        for s in in_period(data.sessions, start, end, store)
        if s["cash_difference"] is None or abs(s["cash_difference"]) >= threshold
    ]


def customer_totals(data: OpsLake, start: date, end: date, store: int | None = None) -> dict:
    lines = [r for r in in_period(data.rows, start, end, store) if r["date"] >= FIRST_NEW_DAY]
    known = [r for r in lines if r["partner_id"] is not None]
    first: dict[int, date] = {}
    for r in data.rows:
        if r.get("partner_id") is not None and (store is None or r["store_id"] == store):
            first[r["partner_id"]] = min(first.get(r["partner_id"], r["date"]), r["date"])
    revenue: dict[int, Decimal] = defaultdict(Decimal)
    orders: dict[int, set[int]] = defaultdict(set)
    for r in known:
        revenue[r["partner_id"]] += r["revenue"]
        orders[r["partner_id"]].add(r["order_id"])
    new = {c for c in revenue if first[c] >= start}
    return {
        "revenue": sum((r["revenue"] for r in lines), Decimal(0)),
        "revenue_known": sum((r["revenue"] for r in known), Decimal(0)),
        "orders": len({r["order_id"] for r in lines}),
        "orders_known": len({r["order_id"] for r in known}),
        "customers": len(revenue),
        "new": len(new),
        "returning": len(revenue) - len(new),
        "new_revenue": sum((revenue[c] for c in new), Decimal(0)),
        "by_customer": {c: (revenue[c], len(orders[c])) for c in revenue},
    }
