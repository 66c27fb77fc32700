from __future__ import annotations

from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from include.etl.clean import CleanContext, Invalid, clean_line, money

TZ = ZoneInfo("Europe/Brussels")
DAY = date(2025, 1, 5)


def order(**over):
    base = {
        "id": 10,
        "name": "Shop/0010",
        "date_order": "2025-01-05 22:50:00",  # 23:50 in Brussels
        "state": "paid",
        "config_id": [1, "Bruxelles – Gare du Midi"],
        "session_id": [7, "POS/001"],
        "company_id": [1, "NK"],
        "currency_id": [1, "EUR"],
        "amount_total": 24.2,
        "write_date": "2025-01-05 22:55:00",
    }
    return base | over


def line(**over):
    base = {
        "id": 100,
        "order_id": [10, "Shop/0010"],
        "product_id": [5, "Café crème"],
        "full_product_name": "Café crème",
        "qty": 2.0,
        "price_unit": 10.0,
        "discount": 0.0,
        "price_subtotal": 20.0,
        "price_subtotal_incl": 24.2,
        "total_cost": 12.5,
        "refunded_orderline_id": False,
        "write_date": "2025-01-05 22:55:00",
    }
    return base | over


def ctx(**over):
    return (
        CleanContext(day=DAY, tz=TZ, known_products={5}, existing_refunded={50})
        if not over
        else CleanContext(**({"day": DAY, "tz": TZ, "known_products": {5}, "existing_refunded": {50}} | over))
    )


def test_a_valid_line_becomes_an_exactly_typed_row():
    row = clean_line(line(), order(), ctx())
    assert row["date"] == DAY
    assert row["local_hour"] == 23
    assert row["revenue"] == Decimal("24.20")
    assert row["revenue_excl_tax"] == Decimal("20.00")
    assert row["tax_amount"] == Decimal("4.20")
    assert row["margin"] == Decimal("7.50")
    assert row["store_name"] == "Bruxelles – Gare du Midi"
    assert row["currency"] == "EUR"
    assert row["is_refund"] is False


def test_money_is_exact_decimal_and_sums_to_the_cent():
    values = [0.1] * 10 + [0.2] * 5
    assert sum((money(v, "x") for v in values), Decimal(0)) == Decimal("2.00")
    assert money(2.675, "x") == Decimal("2.68")  # half-up on the decimal text Odoo sent
    assert money(-1.005, "x") == Decimal("-1.01")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "abc", None, False, [1]])
def test_non_numeric_amounts_are_invalid(bad):
    with pytest.raises(Invalid):
        clean_line(line(price_subtotal_incl=bad), order(), ctx())


def test_discount_amount():
    row = clean_line(line(discount=15.0, price_subtotal=17.0, price_subtotal_incl=20.57), order(), ctx())
    assert row["discount_amount"] == Decimal("3.00")


def test_refund_keeps_negative_quantity_and_revenue():
    row = clean_line(
        line(
            qty=-1.0, price_subtotal=-10.0, price_subtotal_incl=-12.1, total_cost=-6.25, refunded_orderline_id=[50, "x"]
        ),
        order(),
        ctx(),
    )
    assert row["is_refund"] is True
    assert row["quantity"] == Decimal("-1.000")
    assert row["revenue"] == Decimal("-12.10")
    assert row["refunded_line_id"] == 50


def test_refund_of_a_missing_line_is_rejected():
    with pytest.raises(Invalid, match="does not exist"):
        clean_line(line(qty=-1.0, refunded_orderline_id=[51, "x"]), order(), ctx())


@pytest.mark.parametrize(
    ("over", "reason"),
    [
        ({"product_id": False}, "product_id is empty"),
        ({"product_id": [6, "Gone"]}, "unknown product 6"),
        ({"qty": "two"}, "qty is not numeric"),
    ],
)
def test_bad_lines_carry_their_reason(over, reason):
    with pytest.raises(Invalid, match=reason):
        clean_line(line(**over), order(), ctx())


def test_missing_field_is_rejected_not_loaded_as_null():
    bad = line()
    del bad["total_cost"]
    with pytest.raises(Invalid, match="field 'total_cost' missing"):
        clean_line(bad, order(), ctx())


def test_duplicated_line_id_is_rejected_the_second_time():
    c = ctx()
    clean_line(line(), order(), c)
    with pytest.raises(Invalid, match="duplicated line id 100"):
        clean_line(line(), order(), c)


def test_order_outside_the_business_day_is_rejected():
    with pytest.raises(Invalid, match="outside business day"):
        clean_line(line(), order(date_order="2025-01-05 23:10:00"), ctx())  # 00:10 on 6 Jan in Brussels


def test_unknown_order_state_is_rejected():
    with pytest.raises(Invalid, match="unknown order state"):
        clean_line(line(), order(state="sent"), ctx())
