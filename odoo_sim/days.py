"""Orders and lines generated lazily per business day, plus the in-memory mutation overlay.

Every local business day D (store time zone) is generated from ``Random(f"{seed}:{D}:…")``
alone, so any day regenerates identically without generating the others. Ids encode the day:

* ``pos.order.id      = (day_index + 1) * 100_000 + n``   (n = 1.. in date_order order)
* ``pos.order.line.id = (day_index + 1) * 1_000_000 + m`` (m = 1.. in order-id order)
* ``pos.session.id    = (day_index + 1) * 100 + store_index + 1``

with ``day_index = (D - start_date).days``. Orders created by mutations use n >= 90_000 and
m >= 900_000 in the block of their day.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from odoo_sim import payments, versions
from odoo_sim.catalog import DT_FMT, TAXES, Catalog
from odoo_sim.config import SimConfig, parse_dt

log = logging.getLogger(__name__)

ORDER_BLOCK = 100_000
LINE_BLOCK = 1_000_000
SESSION_BLOCK = 100
MUTATION_ORDER_BASE = 90_000
MUTATION_LINE_BASE = 900_000
COUNTED_STATES = ("paid", "done", "invoiced")
ADMIN_UID = 2
CURRENCY_ID = 1
UOM_UNITS = 1

_OPEN_SECS = 7 * 3600
_CLOSE_SECS = 24 * 3600 - 1
_BOUNDARY_SECS = 23 * 3600 + 50 * 60  # the guaranteed 23:50:00 local order on the first store
_NLINES = [1, 2, 3, 4, 5, 6, 7, 8]
_NLINES_W = [30, 22, 16, 11, 8, 6, 4, 3]
_STATES = ["paid", "done", "invoiced", "draft", "cancel"]
_STATES_W = [55, 33, 7, 3, 2]
_REFUND_RATE = 0.015
_PREV_DAY_REFUND_RATE = 0.3
_PREV_POOL = 200  # refunds of day d-1 pick among its last 200 counted sale orders
_WEEKDAY_FACTOR = (0.95, 1.0, 1.0, 1.05, 1.15, 1.25, 0.8)
_DISCOUNTS = [5.0, 10.0, 12.5, 15.0, 20.0, 25.0, 50.0]


def rdiv(num: int, den: int) -> int:
    """num / den rounded half away from zero (Decimal ROUND_HALF_UP), in exact integers."""
    q, r = divmod(abs(num), den)
    if 2 * r >= den:
        q += 1
    return q if num >= 0 else -q


def line_amounts(price_cents: int, qty_milli: int, discount: float, tax_id: int) -> tuple[int, int]:
    """(price_subtotal, price_subtotal_incl) in cents, as Odoo rounds them per line.

    Price-excluded tax: subtotal = round(price*qty*(1-disc)), incl = subtotal + round(subtotal*rate).
    Price-included tax: incl = round(price*qty*(1-disc)), subtotal = round(incl / (1+rate)).
    """
    _name, rate, included = TAXES[tax_id]
    base = rdiv(price_cents * qty_milli * (1000 - round(discount * 10)), 1_000_000)
    if included:
        return rdiv(base * 100, 100 + rate), base
    return base, base + rdiv(base * rate, 100)



@dataclass
class Day:
    """One business day: orders and lines sorted by id."""

    index: int
    orders: list[dict[str, Any]] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)
    order_by_id: dict[int, dict[str, Any]] = field(default_factory=dict)
    line_by_id: dict[int, dict[str, Any]] = field(default_factory=dict)
    max_date: str = ""

    def index_all(self) -> Day:
        self.order_by_id = {o["id"]: o for o in self.orders}
        self.line_by_id = {ln["id"]: ln for ln in self.lines}
        self.max_date = max((o["date_order"] for o in self.orders), default="")
        return self


class DayStore:
    """Generated days (LRU-cached) seen through the overlay of mutations."""

    def __init__(self, cfg: SimConfig, catalog: Catalog) -> None:
        self.cfg = cfg
        self.catalog = catalog
        self.tz = cfg.tz
        self.lock = threading.RLock()
        self._cache: OrderedDict[int, Day] = OrderedDict()
        self._cached_lines = 0
        self._eff: dict[int, tuple[tuple[Any, ...], Day]] = {}
        self.version = 0
        self.order_over: dict[int, dict[str, Any]] = {}
        self.line_over: dict[int, dict[str, Any]] = {}
        self.product_over: dict[int, dict[str, Any]] = {}
        self.extra: dict[int, Day] = {}
        self.touched: set[int] = set()
        self._fixed_now = cfg.now.strftime(DT_FMT) if cfg.now else ""
        self._now_tick = -1
        self._now_cached = ""
        self._store_cum = []
        acc = 0.0
        for w in catalog.store_weights:
            acc += w
            self._store_cum.append(acc)

    # ---- time helpers -------------------------------------------------------------------
    def now_str(self) -> str:
        """The simulator's "now" as a naive UTC string (re-formatted at most once a second)."""
        if self.cfg.now is not None:
            return self._fixed_now
        tick = int(time.time())
        if tick != self._now_tick:
            self._now_tick, self._now_cached = tick, self.cfg.current_now().strftime(DT_FMT)
        return self._now_cached

    def local_to_utc(self, day: date, secs: int) -> str:
        """Naive UTC string of `secs` seconds after local midnight of `day`."""
        local = datetime(day.year, day.month, day.day, tzinfo=self.tz) + timedelta(seconds=secs)
        return local.astimezone(UTC).replace(tzinfo=None).isoformat(" ")

    def _day_converter(self, day: date) -> Callable[[int], datetime]:
        """Fast local-seconds -> naive UTC datetime for one day (exact also on DST change days)."""
        midnight = datetime(day.year, day.month, day.day)
        off0 = midnight.replace(tzinfo=self.tz).utcoffset()
        off1 = (midnight + timedelta(seconds=_CLOSE_SECS)).replace(tzinfo=self.tz).utcoffset()
        if off0 == off1:
            base = midnight - off0
            return lambda secs: base + timedelta(seconds=secs)
        return lambda secs: (datetime(day.year, day.month, day.day, tzinfo=self.tz) + timedelta(seconds=secs)
                             ).astimezone(UTC).replace(tzinfo=None)

    def day_date(self, d: int) -> date:
        return self.cfg.start_date + timedelta(days=d)

    def day_of_dt(self, utc_str: str) -> int:
        """Day index of the local business day containing a naive UTC datetime."""
        utc = parse_dt(utc_str).replace(tzinfo=UTC)
        return (utc.astimezone(self.tz).date() - self.cfg.start_date).days

    def in_range(self, d: int) -> bool:
        return 0 <= d < self.cfg.n_days

    @staticmethod
    def day_of_order_id(oid: int) -> int:
        return oid // ORDER_BLOCK - 1

    @staticmethod
    def day_of_line_id(lid: int) -> int:
        return lid // LINE_BLOCK - 1

    # ---- generation ---------------------------------------------------------------------
    def _make_line(self, lid: int, order: dict[str, Any], k: int, pid: int, qty_m: int, disc: float,
                   price_cents: int | None = None, name: str | None = None) -> dict[str, Any]:
        p = self.catalog.products[pid]
        price = p.price_cents if price_cents is None else price_cents
        excl, incl = line_amounts(price, qty_m, disc, p.tax_id)
        cost = rdiv(p.cost_cents * qty_m, 1000)
        margin = excl - cost
        return {
            "id": lid, "order_id": order["id"], "product_id": pid,
            "full_product_name": name if name is not None
            else p.name_at(order["date_order"]) + self.catalog.variant_suffix(pid),
            "name": f"{order['name']}-{k}", "qty": qty_m / 1000, "price_unit": price / 100,
            "discount": disc, "price_subtotal": excl / 100, "price_subtotal_incl": incl / 100,
            "tax_ids": [p.tax_id], "tax_ids_after_fiscal_position": [p.tax_id],
            "total_cost": cost / 100, "margin": margin / 100,
            "margin_percent": round(margin / excl, 4) if excl else 0.0,
            "refunded_orderline_id": False, "company_id": order["company_id"], "currency_id": CURRENCY_ID,
            "create_date": order["create_date"], "write_date": order["write_date"],
            "create_uid": ADMIN_UID, "write_uid": ADMIN_UID,
            "uuid": f"{lid:08x}-0000-4000-8000-{self.cfg.seed:012x}"[:36],
            "product_uom_id": UOM_UNITS, "is_total_cost_computed": True, "price_extra": 0.0,
            "_excl": excl, "_incl": incl, "_qty": qty_m, "_cost": cost,
        }

    def _make_order(self, d: int, n: int, store: int, when: datetime, state: str, create_s: int,
                    write_s: int, refund: bool) -> dict[str, Any]:
        day = self.day_date(d)
        date_order = when.isoformat(" ")
        st = self.catalog.stores[store]
        oid = (d + 1) * ORDER_BLOCK + n
        sid = (d + 1) * SESSION_BLOCK + store + 1
        name = f"{st['name']}/{day.year % 100:02d}{day.month:02d}{day.day:02d}-{n:05d}" + (
            " REFUND" if refund else "")
        order = {
            "id": oid, "name": name, "pos_reference": f"Order {sid:07d}-001-{n:05d}",
            "date_order": date_order, "create_date": (when + timedelta(seconds=create_s)).isoformat(" "),
            "write_date": (when + timedelta(seconds=write_s)).isoformat(" "), "state": state,
            "config_id": st["id"], "session_id": sid, "company_id": st["company_id"],
            "currency_id": CURRENCY_ID, "create_uid": ADMIN_UID, "write_uid": ADMIN_UID,
            "partner_id": False, "lines": [], "sequence_number": n, "to_invoice": state == "invoiced",
            "is_invoiced": state == "invoiced", "amount_return": 0.0, "currency_rate": 1.0,
            "tracking_number": f"{n % 1000:03d}", "nb_print": 0, "note": False,
            "_refund": refund,
            **self._seller(store, n),
        }
        return versions.version(self.cfg.odoo_version).adapt_order(order, st["name"])

    def _seller(self, store: int, n: int) -> dict[str, Any]:
        """Who rang the order: one of the store's users; with pos_hr, the session's user and an employee."""
        cat = self.catalog
        if not self.cfg.pos_hr:
            return {"user_id": cat.store_users[store][n % len(cat.store_users[store])]}
        eid = cat.store_employees[store][n % len(cat.store_employees[store])]
        # the order's user is the one logged in to the session; pos_hr's stored `cashier` is the
        # employee's name (pos_hr/models/pos_order.py `_compute_cashier`)
        return {"user_id": cat.store_users[store][0], "employee_id": eid, "cashier": cat.employees[eid][0]}

    def _finish_order(self, order: dict[str, Any], lines: list[dict[str, Any]]) -> None:
        self._totals(order, lines)
        # customer and payments from the order's own Random: lines and totals stay as they were
        order.update(payments.settle(order, self.cfg.seed, self.cfg.stores))

    @staticmethod
    def _totals(order: dict[str, Any], lines: list[dict[str, Any]]) -> None:
        incl = sum(ln["_incl"] for ln in lines)
        excl = sum(ln["_excl"] for ln in lines)
        order["lines"] = [ln["id"] for ln in lines]
        order["_total"] = incl
        order["amount_total"] = incl / 100
        order["amount_tax"] = (incl - excl) / 100
        order["amount_paid"] = incl / 100 if order["state"] in COUNTED_STATES else 0.0
        order["margin"] = sum(ln["_excl"] - ln["_cost"] for ln in lines) / 100

    def _specs(self, d: int) -> list[tuple[int, int, int, str, bool]]:
        """(local seconds, store, n lines, state, is_refund) of every order of day d, in id order."""
        day = self.day_date(d)
        rng = random.Random(f"{self.cfg.seed}:{day.isoformat()}:orders")
        nstores = self.cfg.stores
        factor = _WEEKDAY_FACTOR[day.weekday()] * rng.uniform(0.85, 1.15)
        target = max(2, round(self.cfg.lines_per_day * factor))
        specs: list[tuple[int, int, int, str, bool]] = [
            (_BOUNDARY_SECS, 0, rng.randint(1, 3), "paid", False),
            (rng.randrange(3600), rng.randrange(nstores), rng.randint(1, 3), "paid", False),
        ]
        total = sum(s[2] for s in specs)
        store_ids = list(range(nstores))
        while total < target:
            secs = rng.randrange(_OPEN_SECS, _CLOSE_SECS)
            store = rng.choices(store_ids, cum_weights=self._store_cum)[0]
            if rng.random() < _REFUND_RATE:
                specs.append((secs, store, 1, "paid" if rng.random() < 0.6 else "done", True))
                total += 1
                continue
            n = rng.choices(_NLINES, cum_weights=_NLINES_CUM)[0]
            specs.append((secs, store, n, rng.choices(_STATES, cum_weights=_STATES_CUM)[0], False))
            total += n
        specs.sort(key=lambda s: (s[0], s[1]))
        return specs

    def _sale_order(self, d: int, day: date, to_utc: Callable[[int], datetime], n: int,
                    spec: tuple[int, int, int, str, bool], first_line: int) -> tuple[dict[str, Any], list[dict]]:
        """Order n of day d and its lines; its own Random makes any order buildable on its own."""
        secs, store, nlines, state, refund = spec
        orng = random.Random(f"{self.cfg.seed}:{day.isoformat()}:{n}")
        order = self._make_order(d, n, store, to_utc(secs), state, orng.randint(1, 20), orng.randint(60, 900),
                                 refund)
        lines = []
        if refund:
            return order, lines
        for k, pid in enumerate(self.catalog.pick_products(orng, nlines)):
            r = orng.random()
            if r < 0.02:
                qty_m = orng.randint(150, 2500)
            elif r < 0.85:
                qty_m = 1000
            else:
                qty_m = 1000 * orng.choice((2, 2, 2, 3, 4, 6))
            disc = orng.choice(_DISCOUNTS) if orng.random() < 0.08 else 0.0
            lines.append(self._make_line((d + 1) * LINE_BLOCK + first_line + k, order, k + 1, pid, qty_m, disc))
        return order, lines

    def _generate(self, d: int) -> Day:
        """Generate day `d`; refund slots reference earlier lines of this day or of day d-1."""
        t0 = time.perf_counter()
        day = self.day_date(d)
        rrng = random.Random(f"{self.cfg.seed}:{day.isoformat()}:refunds")
        to_utc = self._day_converter(day)
        out = Day(d)
        same_day_pool: list[dict[str, Any]] = []
        prev_pool: list[dict[str, Any]] | None = None
        m = 1
        for i, spec in enumerate(self._specs(d)):
            order, lines = self._sale_order(d, day, to_utc, i + 1, spec, m)
            if spec[4]:  # refund slot
                pool = same_day_pool
                if rrng.random() < _PREV_DAY_REFUND_RATE and self.in_range(d - 1):
                    if prev_pool is None:
                        prev_pool = self._sale_pool(d - 1)
                    pool = prev_pool or same_day_pool
                lid = (d + 1) * LINE_BLOCK + m
                if pool:
                    lines.append(self._refund_line(lid, order, pool[rrng.randrange(len(pool))], rrng))
                else:  # nothing to refund yet (first orders of the range): a plain 1-line sale
                    order["_refund"] = False
                    order["name"] = order["name"].removesuffix(" REFUND")
                    pid = self.catalog.pick_products(rrng, 1)[0]
                    lines.append(self._make_line(lid, order, 1, pid, 1000, 0.0))
            elif spec[3] in COUNTED_STATES:
                same_day_pool.extend(lines)
            m += spec[2]
            self._finish_order(order, lines)
            out.orders.append(order)
            out.lines.extend(lines)
        out.index_all()
        log.debug("generated day %s: %d orders, %d lines in %.3fs", day, len(out.orders), len(out.lines),
                  time.perf_counter() - t0)
        return out

    def _refund_line(self, lid: int, order: dict[str, Any], src: dict[str, Any],
                     rng: random.Random) -> dict[str, Any]:
        qty_m = -src["_qty"]
        if src["_qty"] > 1000 and src["_qty"] % 1000 == 0 and rng.random() < 0.5:
            qty_m = -1000
        line = self._make_line(lid, order, 1, src["product_id"], qty_m, src["discount"],
                               price_cents=round(src["price_unit"] * 100), name=src["full_product_name"])
        line["refunded_orderline_id"] = src["id"]
        line["_names"] = {"refunded_orderline_id": src["name"]}
        return line

    def _sale_pool(self, d: int) -> list[dict[str, Any]]:
        """Lines of the last counted sale orders of day d (yesterday evening's sales), built cheaply."""
        cached = self._cache.get(d)
        specs = self._specs(d)
        firsts = []
        m = 1
        for spec in specs:
            firsts.append(m)
            m += spec[2]
        day = self.day_date(d)
        to_utc = self._day_converter(day)
        picked = [i for i in range(len(specs)) if specs[i][3] in COUNTED_STATES and not specs[i][4]][-_PREV_POOL:]
        if cached is not None:
            ids = {(d + 1) * ORDER_BLOCK + i + 1 for i in picked}
            return [ln for ln in cached.lines if ln["order_id"] in ids]
        pool: list[dict[str, Any]] = []
        for i in picked:
            pool.extend(self._sale_order(d, day, to_utc, i + 1, specs[i], firsts[i])[1])
        return pool

    def base_day(self, d: int) -> Day:
        """Generated day d (no overlay), from the LRU cache when possible."""
        with self.lock:
            day = self._cache.get(d)
            if day is not None:
                self._cache.move_to_end(d)
                return day
            day = self._generate(d) if self.in_range(d) else Day(d)
            self._cache[d] = day
            self._cached_lines += len(day.lines)
            while self._cached_lines > self.cfg.cache_lines and len(self._cache) > 1:
                _old, evicted = self._cache.popitem(last=False)
                self._cached_lines -= len(evicted.lines)
            return day

    # ---- overlay ------------------------------------------------------------------------
    def day(self, d: int) -> Day:
        """Day d as served: base + mutations, orders later than "now" hidden."""
        with self.lock:
            base = self.base_day(d)
            extra = self.extra.get(d)
            now = self.now_str()
            hide = bool(base.max_date > now or (extra and extra.max_date > now))
            if d not in self.touched and not hide:
                return base
            key = (self.version, now if hide else None)
            cached = self._eff.get(d)
            if cached and cached[0] == key:
                return cached[1]
            oo, lo = self.order_over, self.line_over
            orders = base.orders + (extra.orders if extra else [])
            lines = base.lines + (extra.lines if extra else [])
            if d in self.touched:
                orders = [{**o, **oo[o["id"]]} if o["id"] in oo else o for o in orders]
                lines = [{**ln, **lo[ln["id"]]} if ln["id"] in lo else ln for ln in lines]
            if hide:
                orders = [o for o in orders if o["date_order"] <= now]
                visible = {o["id"] for o in orders}
                lines = [ln for ln in lines if ln["order_id"] in visible]
            eff = Day(d, orders, lines).index_all()
            self._eff[d] = (key, eff)
            return eff

    def get_order(self, oid: int) -> dict[str, Any] | None:
        return self.day(self.day_of_order_id(oid)).order_by_id.get(oid) if oid > 0 else None

    def get_line(self, lid: int) -> dict[str, Any] | None:
        return self.day(self.day_of_line_id(lid)).line_by_id.get(lid) if lid > 0 else None

    def _bump(self, d: int) -> None:
        self.touched.add(d)
        self.version += 1

    def _require(self, rec: dict[str, Any] | None, what: str, rid: Any) -> dict[str, Any]:
        if rec is None:
            raise ValueError(f"{what} {rid} does not exist")
        return rec

    def write_order(self, oid: int, vals: dict[str, Any]) -> None:
        with self.lock:
            order = self._require(self.get_order(oid), "pos.order", oid)
            ov = self.order_over.setdefault(order["id"], {})
            store = next(st for st in self.catalog.stores if st["id"] == order["config_id"])
            vals = versions.version(self.cfg.odoo_version).write_vals({**order, **ov}, vals, store["name"])
            ov.update(vals)
            if vals.get("state") in COUNTED_STATES and not {**order, **ov}.get("_payments"):
                ov.update(payments.settle({**order, **ov}, self.cfg.seed, self.cfg.stores))
            if "state" in vals:
                ov["to_invoice"] = ov["is_invoiced"] = vals["state"] == "invoiced" or "account_move" in vals
            ov["write_date"] = self.now_str()
            self._bump(self.day_of_order_id(oid))

    def _new_order(self, date_order: str, store: int, refund: bool) -> tuple[int, dict[str, Any]]:
        d = self.day_of_dt(date_order)
        if not self.in_range(d):
            raise ValueError(f"date_order {date_order} is outside the simulated date range")
        extra = self.extra.setdefault(d, Day(d))
        n = MUTATION_ORDER_BASE + len(extra.orders) + 1
        now = self.now_str()
        order = self._make_order(d, n, store, datetime.fromisoformat(date_order), "paid", 0, 0, refund)
        order["create_date"] = order["write_date"] = now
        return d, order

    def _store_new(self, d: int, order: dict[str, Any], lines: list[dict[str, Any]]) -> dict[str, Any]:
        self._finish_order(order, lines)
        extra = self.extra[d]
        extra.orders.append(order)
        extra.lines.extend(lines)
        extra.index_all()
        self._bump(d)
        return {"order_id": order["id"], "line_ids": order["lines"], "name": order["name"],
                "date_order": order["date_order"]}

    def late_order(self, date_order: str, nlines: int, config_id: int = 1) -> dict[str, Any]:
        """A paid order synced late (offline POS): created now, dated `date_order`."""
        with self.lock:
            date_order = parse_dt(date_order).strftime(DT_FMT)
            d, order = self._new_order(date_order, max(0, config_id - 1) % self.cfg.stores, False)
            extra = self.extra[d]
            rng = random.Random(f"{self.cfg.seed}:late:{order['id']}")
            now = self.now_str()
            lines = []
            for k, pid in enumerate(self.catalog.pick_products(rng, max(1, nlines)), start=1):
                lid = (d + 1) * LINE_BLOCK + MUTATION_LINE_BASE + len(extra.lines) + k
                line = self._make_line(lid, order, k, pid, 1000 * rng.randint(1, 3), 0.0)
                line["write_date"] = line["create_date"] = now
                lines.append(line)
            return self._store_new(d, order, lines)

    def refund_line(self, line_id: int, date_order: str | None = None) -> dict[str, Any]:
        """A refund order (paid) whose single line refunds `line_id` entirely."""
        with self.lock:
            src = self._require(self.get_line(line_id), "pos.order.line", line_id)
            date_order = parse_dt(date_order).strftime(DT_FMT) if date_order else self.now_str()
            src_order = self.get_order(src["order_id"]) or {}
            d, order = self._new_order(date_order, int(src_order.get("config_id", 1)) - 1, True)
            extra = self.extra[d]
            lid = (d + 1) * LINE_BLOCK + MUTATION_LINE_BASE + len(extra.lines) + 1
            line = self._make_line(lid, order, 1, src["product_id"], -src["_qty"], src["discount"],
                                   price_cents=round(src["price_unit"] * 100), name=src["full_product_name"])
            line["refunded_orderline_id"] = src["id"]
            return self._store_new(d, order, [line])

    def corrupt_line(self, line_id: int, fname: str, value: Any) -> None:
        with self.lock:
            self._require(self.get_line(line_id), "pos.order.line", line_id)
            ov = self.line_over.setdefault(line_id, {})
            ov[fname] = value
            if fname != "write_date":
                ov["write_date"] = self.now_str()
            ov["_corrupt"] = True
            self._bump(self.day_of_line_id(line_id))

    def mismatch_order_total(self, oid: int, delta: str) -> None:
        with self.lock:
            order = self._require(self.get_order(oid), "pos.order", oid)
            cents = order["_total"] + int((Decimal(str(delta)) * 100).to_integral_value())
            ov = self.order_over.setdefault(oid, {})
            ov.update({"_total": cents, "amount_total": cents / 100, "write_date": self.now_str()})
            self._bump(self.day_of_order_id(oid))

    def rename_product(self, pid: int, name: str) -> None:
        with self.lock:
            if pid not in self.catalog.products:
                raise ValueError(f"product.product {pid} does not exist")
            self.product_over[pid] = {"name": name, "write_date": self.now_str()}
            self.version += 1

    def reset(self) -> None:
        with self.lock:
            self.order_over.clear()
            self.line_over.clear()
            self.product_over.clear()
            self.extra.clear()
            self.touched.clear()
            self._eff.clear()
            self.version += 1

    # ---- expected totals ------------------------------------------------------------------
    def stats(self, date_from: str, date_to: str) -> dict[str, Any]:
        """Expected KPIs of counted orders (paid/done/invoiced) with date_from <= date_order < date_to.

        Walks the served days directly (not through the domain engine). Revenue uses each line's
        true amounts, also for lines corrupted by `corrupt_line` (listed in corrupted_line_ids).
        """
        lo = parse_dt(date_from).strftime(DT_FMT)
        hi = parse_dt(date_to).strftime(DT_FMT)
        first = max(0, self.day_of_dt(lo))
        last = min(self.cfg.n_days - 1, self.day_of_dt(hi))
        counted: set[int] = set()
        order_ids: list[int] = []
        excluded: dict[str, list[int]] = {"draft": [], "cancel": []}
        total_c = 0
        lines = qty = incl = excl = 0
        line_ids: list[int] = []
        corrupted: list[int] = []
        with self.lock:
            for d in range(first, last + 1):
                day = self.day(d)
                for o in day.orders:
                    if not lo <= o["date_order"] < hi:
                        continue
                    if o["state"] in COUNTED_STATES:
                        counted.add(o["id"])
                        order_ids.append(o["id"])
                        total_c += o["_total"]
                    else:
                        excluded.setdefault(o["state"], []).append(o["id"])
                for ln in day.lines:
                    if ln["order_id"] in counted:
                        lines += 1
                        qty += ln["_qty"]
                        incl += ln["_incl"]
                        excl += ln["_excl"]
                        line_ids.append(ln["id"])
                        if ln.get("_corrupt"):
                            corrupted.append(ln["id"])
        cents = Decimal("0.01")
        return {
            "date_from": lo, "date_to": hi, "orders": len(order_ids), "lines": lines,
            "quantity": str((Decimal(qty) / 1000).quantize(Decimal("0.001"))),
            "revenue": str((Decimal(incl) / 100).quantize(cents)),
            "revenue_excl_tax": str((Decimal(excl) / 100).quantize(cents)),
            "amount_total": str((Decimal(total_c) / 100).quantize(cents)),
            "order_ids": sorted(order_ids), "order_ids_excluded": excluded,
            "line_ids": sorted(line_ids), "corrupted_line_ids": sorted(corrupted),
        }


def _cum(weights: list[int]) -> list[int]:
    out, acc = [], 0
    for w in weights:
        acc += w
        out.append(acc)
    return out


_NLINES_CUM = _cum(_NLINES_W)
_STATES_CUM = _cum(_STATES_W)
