"""The Arrow staging of `extract` and the column-wise steps give exactly what the record-by-record code gives."""

from __future__ import annotations

import gzip
import json
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

from include.etl import clean, extract, fact, raw
from include.etl.clean import CleanContext

TZ = ZoneInfo("Europe/Brussels")
DAY = date(2025, 1, 5)
NAN = float("nan")


def _order(oid: int, **over: object) -> dict:
    base = {
        "id": oid,
        "name": f"Shop/{oid:04d}",
        "date_order": "2025-01-05 10:00:00",
        "state": "paid",
        "config_id": [1, "Shop (not used)"],
        "session_id": [7, "POS/001"],
        "company_id": [1, "NK"],
        "currency_id": [1, "EUR"],
        "amount_total": 24.2,
        "amount_tax": 4.2,
        "user_id": [6, "Amélie"],
        "write_date": "2025-01-05 10:05:00",
        "partner_id": False,
        "amount_paid": 24.2,
    }
    return base | over


ORDERS = [
    _order(10),
    _order(11, state="draft"),
    _order(12, date_order="2025-01-05 23:30:00"),  # 00:30 on the next day in Brussels
    _order(13, config_id=False),
    _order(14, employee_id=[3, "Hugo"], partner_id=[9, "Client"], amount_total=2.675),
    _order(15, amount_total=NAN),
    _order(17, state="weird"),
    _order(18, date_order="garbage"),
    _order(19, currency_id=[1]),
    _order(20, name=20, write_date=False),
    _order(10, name="Shop/0010-again"),  # the same id twice: the last one counts, as in the raw layer
    {"id": 21, "name": "Shop/0021"},  # most fields missing
]


def _line(lid: object, order: int = 10, **over: object) -> dict:
    base = {
        "id": lid,
        "order_id": [order, f"Shop/{order:04d}"],
        "product_id": [5, "Café crème"],
        "full_product_name": "Café crème",
        "qty": 2.0,
        "price_unit": 10.0,
        "discount": 0.0,
        "price_subtotal": 20.0,
        "price_subtotal_incl": 24.2,
        "total_cost": 12.5,
        "refunded_orderline_id": False,
        "company_id": [1, "NK"],
        "write_date": "2025-01-05 10:05:00",
    }
    return base | over


LINES = [
    _line(100),
    _line(101, qty=3, discount=12.5, price_unit=2.675, price_subtotal=7.02, price_subtotal_incl=8.49),
    _line(102, qty=-1.0005, discount=33.333, price_unit=19.99, total_cost=123456.785),
    _line(103, order=14, product_id=[6, "Thé"], full_product_name=False),
    _line(104, order=14, full_product_name="", write_date=False),
    _line(105, write_date="garbage", refunded_orderline_id=[50, "old line"]),
    _line(106, refunded_orderline_id=[51, "gone"]),
    _line(107, refunded_orderline_id=50),
    _line(108, order=11),
    _line(109, order=12),
    _line(110, order=13),
    _line(111, order=15),
    _line(112, order=17),
    _line(113, order=18),
    _line(114, order=19),
    _line(115, order=20),
    _line(116, order=21),
    _line(117, order=99),
    _line(118, order_id=False),
    _line(200),
    _line(200, qty=5.0),  # a duplicated id: the second one is rejected
    _line(True),
    _line(5.0),
    _line(119, product_id=[99, "Ghost"]),
    _line(120, product_id=[5]),
    _line(121, product_id=[5, False]),
    _line(122, qty="abc"),
    _line(123, qty=NAN),
    _line(124, qty=None),
    _line(125, discount=True),
    _line(126, price_unit=3, total_cost=0),
    _line(127, price_subtotal_incl=10.005, price_subtotal=-0.0),
    {k: v for k, v in _line(128).items() if k != "total_cost"},
    {k: v for k, v in _line(129).items() if k != "full_product_name"},
]


def _ctx() -> CleanContext:
    return CleanContext(
        day=DAY, tz=TZ, known_products={5, 6}, existing_refunded={50}, store_names={1: "Bruxelles – Gare du Midi"}
    )


def _staged() -> tuple[pa.Table, pa.Table]:
    pages = [LINES[:10], LINES[10:25], LINES[25:]]
    return extract._stage_line_pages(iter(pages)).table, extract.order_table(ORDERS)


def test_staged_raw_table_is_the_raw_table_of_the_records() -> None:
    lines, orders = _staged()
    staged = raw.join_orders(
        {n: lines[n] for n in lines.column_names if n != extract.SHAPE_OK},
        {n: orders[n] for n in orders.column_names if n not in (extract.SHAPE_OK, "order_employee_id")},
    )
    reference = raw.raw_table(LINES, ORDERS)
    assert staged.schema == reference.schema
    assert staged.equals(reference)
    assert staged["line_json"].to_pylist() == [json.dumps(line, ensure_ascii=False) for line in LINES]


def test_column_wise_clean_equals_clean_line_for_every_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    lines, orders = _staged()
    reference, reference_rejects = clean.clean_table(lines, orders, _ctx(), fast=False)

    calls = []
    original = clean.clean_line
    monkeypatch.setattr(clean, "clean_line", lambda *a: calls.append(a[0]["id"]) or original(*a))
    table, rejects = clean.clean_table(lines, orders, _ctx())

    assert table.schema == clean.CLEAN_LINES
    assert table.equals(reference), (table.to_pylist(), reference.to_pylist())
    assert rejects == reference_rejects
    # the plain lines went column-wise; clean_line saw only the odd ones
    fast = {100, 101, 102, 103, 104, 105, 108, 126, 127, 129}
    assert fast <= set(table["line_id"].to_pylist())
    assert not fast & set(calls)
    assert len(calls) == len(LINES) - len(fast)
    # and the reasons are clean_line's own
    reasons = {r["line_id"]: r["reason"] for r in rejects}
    assert reasons[106] == "refund of line 51, which does not exist in Odoo"
    assert reasons[109] == "order date 2025-01-06 00:30 (store time) is outside business day 2025-01-05"
    assert reasons[122] == "qty is not numeric: 'abc'"
    assert reasons[200] == "duplicated line id 200"
    rows = {r["line_id"]: r for r in table.to_pylist()}
    assert rows[101]["discount_amount"] == Decimal("1.00")  # 2.6750 * 3 * 12.50 / 100 = 1.003125
    assert rows[102]["is_refund"] is True and rows[102]["cost"] == Decimal("123456.79")
    assert rows[100]["store_name"] == "Bruxelles – Gare du Midi"
    assert rows[100]["order_name"] == "Shop/0010-again"
    assert rows[103]["employee_id"] == 3 and rows[103]["partner_id"] == 9 and rows[103]["product_name"] == "Thé"


def test_a_day_without_lines_stages_and_cleans_to_empty_typed_tables() -> None:
    lines = extract._stage_line_pages(iter([])).table
    orders = extract.order_table([])
    table, rejects = clean.clean_table(lines, orders, _ctx())
    assert table.num_rows == 0 and table.schema == clean.CLEAN_LINES and rejects == []
    assert (
        raw.join_orders(
            {n: lines[n] for n in lines.column_names if n != extract.SHAPE_OK},
            {n: orders[n] for n in orders.column_names if n not in (extract.SHAPE_OK, "order_employee_id")},
        ).schema
        == raw.raw_table([], []).schema
    )


def test_encoded_records_are_the_json_of_the_list() -> None:
    encoded = extract.encode_pages(iter([ORDERS[:3], ORDERS[3:5]]))
    assert encoded.text == json.dumps(ORDERS[:5], ensure_ascii=False)
    assert len(encoded) == 5
    assert extract.encode_pages(iter([])).text == "[]"


def test_expected_revenue_from_the_staged_orders(tmp_path) -> None:
    good = [o for o in ORDERS if o["id"] not in (15, 21)]
    extract.dump_table(str(tmp_path / "orders.arrow"), extract.order_table(good))
    assert fact.staged_expected_revenue(str(tmp_path), {12}) == fact.expected_revenue(good, {12})
    # seven counted orders of 24.20 and one of 2.68 (2.675 rounded half-up); draft and "weird" left out
    assert fact.staged_expected_revenue(str(tmp_path), set()) == Decimal("172.08")

    # an order whose amount is not a number: the records path names it, as before
    extract.dump_table(str(tmp_path / "orders.arrow"), extract.order_table(ORDERS))
    extract._dump(str(tmp_path / "orders.json.gz"), ORDERS)
    with pytest.raises(fact.ReconciliationError, match="amount_total of order 15 is not a finite number"):
        fact.staged_expected_revenue(str(tmp_path), set())


def test_a_staging_folder_of_the_previous_version_is_a_clear_error(tmp_path) -> None:
    """Staging written as gzip JSON only (before this version): the next step says to extract again."""
    staging = tmp_path / "_staging" / "2025-01-05" / "1-abc"
    staging.mkdir(parents=True)
    for name, payload in (("lines", LINES[:2]), ("orders", ORDERS[:1]), ("meta", {"orders": 1})):
        (staging / f"{name}.json.gz").write_bytes(gzip.compress(json.dumps(payload).encode()))
    with pytest.raises(extract.StagingFormatError, match="earlier version of the ETL .* clear this run's extract"):
        raw.save_raw(str(staging), str(tmp_path), DAY)
    assert not (tmp_path / "raw").exists()


@pytest.mark.parametrize("fast", [True, False])
def test_a_number_too_big_for_its_column_rejects_the_line_instead_of_crashing_the_day(fast: bool) -> None:
    """Found in review: total_cost 1e20 passed the checks and then overflowed DECIMAL(18,2) in clean."""
    lines = [
        _line(300),
        _line(301, total_cost=1e20),
        _line(302, price_unit=1e15),
        _line(303, qty=1e16),
        _line(304, discount=1e5),
        _line(305, qty=9e6, price_unit=9e9, discount=100.0),  # each fits, their discount amount does not
        _line(306, order=31),
    ]
    orders = [_order(10), _order(31, amount_total=1e18)]
    staged = extract._stage_line_pages(iter([lines])).table, extract.order_table(orders)
    table, rejects = clean.clean_table(*staged, _ctx(), fast=fast)
    assert table["line_id"].to_pylist() == [300]
    reasons = {r["line_id"]: r["reason"] for r in rejects}
    assert reasons == {
        301: "total_cost is out of range: 1e+20",
        302: "price_unit is out of range: 1000000000000000.0",
        303: "qty is out of range: 1e+16",
        304: "discount is out of range: 100000.0",
        305: "discount amount is out of range: 81000000000000000.00",
        306: "order amount_total is out of range: 1e+18",
    }
