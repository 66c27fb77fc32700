"""Payments, customers and the cash of the sessions, derived deterministically from the generated orders.

Nothing here draws from the order/line random streams: every order keeps exactly the lines and
totals it had before payments existed. Each order gets its own ``Random(f"{seed}:pay:{order id}")``.

How Odoo books what the simulator serves (point_of_sale/models/pos_order.py, pos_payment.py,
pos_session.py, pos_cash_rounding):

* the POS sends the tendered payment lines; when cash was overpaid, ``_process_payment_lines``
  adds a change line: ``amount = -amount_return``, ``is_change = True``, ``name = 'return'``, on
  the session's cash method; ``add_payment`` sets ``amount_paid = sum(payment_ids.amount)``, so
  ``amount_paid`` is net of the change;
* with ``pos.config.cash_rounding`` the amount due is ``amount_total`` rounded with the config's
  ``account.cash.rounding`` (here 0.05, HALF-UP, ``only_round_cash_method`` off); the order is
  paid when ``amount_paid`` equals that rounded total and the difference goes to the rounding
  account, so ``amount_paid - amount_total`` is the order's rounding;
* ``cash_register_balance_end`` (expected cash) = opening ``cash_register_balance_start`` +
  ``cash_real_transaction`` (cash in/out) + the cash payments of the session;
  ``cash_register_difference`` = counted ``cash_register_balance_end_real`` - expected.

Ids: ``pos.payment.id = pos.order.id * 10 + k`` (k = 1..3), so a payment id names its day.
"""

from __future__ import annotations

import random
from collections import defaultdict
from decimal import Decimal
from typing import Any

CARD_ID = 1
ACCOUNT_ID = 2  # "Customer Account": split_transactions, type pay_later
CASH_BASE = 10  # the cash method of store index i is CASH_BASE + i + 1 (one cash journal per register)
ROUNDING_ID = 1
ROUNDING_CENTS = 5
PAYMENT_FACTOR = 10
PARTNER_BASE = 1000
CUSTOMERS_PER_STORE = 60
FLOAT_CENTS = 20_000  # the float every session opens with
SAFE_DROP_CENTS = 5_000  # at closing the cashier moves whole 50.00 notes to the safe (a cash out)
COUNTED = ("paid", "done", "invoiced")
CASH_FIELDS = (
    "cash_register_balance_start",
    "cash_register_balance_end",
    "cash_register_balance_end_real",
    "cash_register_difference",
    "cash_real_transaction",
)
_CUSTOMER_SHARE = 0.4
_DIFFERENCES = (-5000, -2000, -1000, -500, -250, -100, -50, -20, 50, 100, 200, 1000)
_DIFFERENCE_RATE = 0.15
_FIRST = ("Marie", "Thomas", "Julie", "Nicolas", "Laura", "Pieter", "Sarah", "Kevin", "Lotte", "Mehdi",
          "Ines", "Bram", "Chloé", "Hugo", "Fatima", "Jonas", "Eva", "Arne", "Léa", "Yusuf")
_LAST = ("Lambert", "Maes", "Dupont", "Willems", "Leroy", "Claes", "Mertens", "Goossens", "Dumont", "Wouters",
         "Renard", "Jacobs", "Simon", "Vermeulen", "Laurent", "De Smet", "Moreau", "Peeters", "Aerts", "Fontaine")


def rounding_store(store_index: int) -> bool:
    """Cash rounding on every second store (index 1, 3, ...): some stores round, others do not."""
    return store_index % 2 == 1


def cash_method(store_index: int) -> int:
    return CASH_BASE + store_index + 1


def method_records(stores: list[dict[str, Any]], base: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """pos.payment.method: a shared Card and Customer Account, one cash method per register."""
    every = [s["id"] for s in stores]
    common = {**base, "active": True, "company_id": 1, "journal_id": False, "use_payment_terminal": False,
              "payment_method_type": "none", "is_online_payment": False, "split_transactions": False,
              "is_cash_count": False}
    out = {
        CARD_ID: {**common, "id": CARD_ID, "name": "Card", "type": "bank", "sequence": 2, "config_ids": every},
        ACCOUNT_ID: {**common, "id": ACCOUNT_ID, "name": "Customer Account", "type": "pay_later", "sequence": 3,
                     "split_transactions": True, "config_ids": every},
    }
    for i, s in enumerate(stores):
        mid = cash_method(i)
        out[mid] = {**common, "id": mid, "name": "Cash" if i == 0 else f"Cash {s['name']}", "type": "cash",
                    "sequence": 1, "is_cash_count": True, "config_ids": [s["id"]]}
    return out


def config_values(store_index: int) -> dict[str, Any]:
    """The pos.config fields about payments and cash rounding."""
    rounds = rounding_store(store_index)
    return {"payment_method_ids": [cash_method(store_index), CARD_ID, ACCOUNT_ID], "cash_rounding": rounds,
            "rounding_method": ROUNDING_ID if rounds else False, "only_round_cash_method": False,
            "cash_control": True}


def rounding_records(base: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """account.cash.rounding (account/models/account_cash_rounding.py)."""
    return {ROUNDING_ID: {**base, "id": ROUNDING_ID, "name": "0.05 EUR", "rounding": ROUNDING_CENTS / 100,
                          "rounding_method": "HALF-UP", "strategy": "add_invoice_line"}}


def partner_records(n_stores: int, seed: int, base: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """res.partner: the customers who give their name at the till (id and name are all the ETL reads)."""
    rng = random.Random(f"{seed}:customers")
    out = {}
    for k in range(CUSTOMERS_PER_STORE * n_stores):
        pid = PARTNER_BASE + k + 1
        name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
        out[pid] = {**base, "id": pid, "name": name, "active": True, "company_id": False}
    return out


def _round_cash(cents: int) -> int:
    """HALF-UP to ROUNDING_CENTS, away from zero like odoo.tools.float_round."""
    q, r = divmod(abs(cents), ROUNDING_CENTS)
    if 2 * r >= ROUNDING_CENTS:
        q += 1
    return q * ROUNDING_CENTS if cents >= 0 else -q * ROUNDING_CENTS


def _tendered(rng: random.Random, due: int) -> int:
    """What the customer hands over for `due` cents in cash: often exact, else the next note."""
    if rng.random() < 0.55:
        return due
    for note in (500, 1000, 2000, 5000, 10000):
        if note >= due and rng.random() < 0.7:
            return note
    return -(-due // 1000) * 1000


def settle(order: dict[str, Any], seed: int, n_stores: int) -> dict[str, Any]:
    """Customer, payments and paid amounts of one order, as values to merge into it."""
    rng = random.Random(f"{seed}:pay:{order['id']}")
    store = order["config_id"] - 1
    partner: int | bool = False
    if rng.random() < _CUSTOMER_SHARE:
        pool = CUSTOMERS_PER_STORE * n_stores
        # a customer mostly shops in one store; a few regulars come back often
        home = store * CUSTOMERS_PER_STORE + int(rng.paretovariate(1.2) * 3) % CUSTOMERS_PER_STORE
        partner = PARTNER_BASE + 1 + (home if rng.random() < 0.85 else rng.randrange(pool))
    vals: dict[str, Any] = {"partner_id": partner}
    total = order.get("_total", 0)
    if order["state"] not in COUNTED or total == 0:
        return {**vals, "_payments": [], "payment_ids": [], "amount_paid": 0.0, "amount_return": 0.0}
    due = _round_cash(total) if rounding_store(store) else total
    cash = cash_method(store)
    parts: list[tuple[int, int, bool]] = []  # (method, cents, is_change)
    r = rng.random()
    if total < 0:  # a refund is paid back, mostly in cash
        parts.append((cash if r < 0.7 else CARD_ID, due, False))
    elif r < 0.06 and partner:
        parts.append((ACCOUNT_ID, due, False))
    elif r < 0.5:
        given = _tendered(rng, due)
        parts.append((cash, given, False))
        if given > due:
            parts.append((cash, due - given, True))
    elif r < 0.92 or due < 200:
        parts.append((CARD_ID, due, False))
    else:  # split: part on the card, the rest in cash
        card = rng.randrange(100, due, 100) if due > 100 else due
        parts.append((CARD_ID, card, False))
        if due - card:
            parts.append((cash, due - card, False))
    payments = []
    for k, (method, cents, change) in enumerate(parts, start=1):
        payments.append({
            "id": order["id"] * PAYMENT_FACTOR + k, "name": "return" if change else False,
            "pos_order_id": order["id"], "amount": cents / 100, "payment_method_id": method,
            "payment_date": order["date_order"], "session_id": order["session_id"],
            "company_id": order["company_id"], "currency_id": order["currency_id"], "is_change": change,
            "partner_id": partner, "create_date": order["create_date"], "write_date": order["create_date"],
            "create_uid": order["create_uid"], "write_uid": order["create_uid"], "account_move_id": False,
            "payment_status": False, "card_type": False, "transaction_id": False,
            "uuid": f"{order['id'] * PAYMENT_FACTOR + k:08x}-0000-4000-8000-{seed:012x}"[:36],
            "_cents": cents,
        })
    change_cents = -sum(p["_cents"] for p in payments if p["is_change"])
    return {**vals, "_payments": payments, "payment_ids": [p["id"] for p in payments],
            "amount_paid": sum(p["_cents"] for p in payments) / 100, "amount_return": change_cents / 100,
            "_paid": sum(p["_cents"] for p in payments)}


def session_difference(seed: int, day_iso: str, store_index: int) -> int:
    """The counted-minus-expected cash of one closing, in cents (zero on most days)."""
    rng = random.Random(f"{seed}:{day_iso}:{store_index}:cash")
    return rng.choice(_DIFFERENCES) if rng.random() < _DIFFERENCE_RATE else 0


def session_cash(orders: list[dict[str, Any]], session: dict[str, Any], seed: int, day_iso: str) -> dict[str, Any]:
    """The cash fields of a session: opening float, cash out, expected, counted and difference."""
    store = session["config_id"] - 1
    method = cash_method(store)
    cash_in = sum(p["_cents"] for o in orders if o["session_id"] == session["id"] and o["state"] in COUNTED
                  for p in o.get("_payments", ()) if p["payment_method_id"] == method)
    start = FLOAT_CENTS
    closed = session["state"] == "closed"
    moved = -((start + cash_in - FLOAT_CENTS) // SAFE_DROP_CENTS) * SAFE_DROP_CENTS if closed else 0
    expected = start + moved + cash_in
    counted = expected + session_difference(seed, day_iso, store) if closed else 0
    return {"cash_register_balance_start": start / 100, "cash_real_transaction": moved / 100,
            "cash_register_balance_end": expected / 100, "cash_register_balance_end_real": counted / 100,
            "cash_register_difference": (counted - expected) / 100, "_cash_in": cash_in}


def stats(orders: list[dict[str, Any]], method_names: dict[int, str]) -> dict[str, Any]:
    """Expected payment and customer figures of the counted orders given (already window-filtered)."""
    cents = Decimal("0.01")
    by_method: dict[str, int] = defaultdict(int)
    count = change = total = paid_total = rounding = with_customer = revenue_customer = 0
    customers: set[int] = set()
    rounded_orders = 0
    for o in orders:
        pays = o.get("_payments", ())
        for p in pays:
            by_method[method_names[p["payment_method_id"]]] += p["_cents"]
            count += 1
            total += p["_cents"]
            if p["is_change"]:
                change += p["_cents"]
        paid = sum(p["_cents"] for p in pays)
        paid_total += paid
        if pays and paid != o["_total"]:
            rounding += paid - o["_total"]
            rounded_orders += 1
        if o.get("partner_id"):
            with_customer += 1
            revenue_customer += o["_total"]
            customers.add(o["partner_id"])

    def money(c: int) -> str:
        return str((Decimal(c) / 100).quantize(cents))

    return {
        "payments": {"count": count, "total": money(total), "change": money(change),
                     "rounding": money(rounding), "rounded_orders": rounded_orders,
                     "by_method": {k: money(v) for k, v in sorted(by_method.items())}},
        "customers": {"orders_with_customer": with_customer, "revenue_with_customer": money(revenue_customer),
                      "partner_ids": sorted(customers)},
    }
