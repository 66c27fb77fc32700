"""Model registry: schemas (fields_get), records, ORM methods, authentication."""

from __future__ import annotations

import copy
import json
import logging
from collections import OrderedDict
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from odoo_sim import domain as dom
from odoo_sim import payments, versions
from odoo_sim.catalog import (
    ATTRIBUTES,
    DT_FMT,
    POS_CATEGORIES,
    PRODUCT_CATEGORIES,
    TAXES,
    Catalog,
    complete_name,
    parent_path,
)
from odoo_sim.config import SimConfig, parse_dt
from odoo_sim.days import ADMIN_UID, COUNTED_STATES, ORDER_BLOCK, DayStore
from odoo_sim.errors import OdooError, access_denied, access_error, missing_db, value_error

log = logging.getLogger(__name__)

_DAY_MODELS = ("pos.order", "pos.order.line", "pos.payment")
# the many2one that leads from a day model to its pos.order (for the day of a domain leaf)
_ORDER_PREFIX = {"pos.order": "", "pos.order.line": "order_id.", "pos.payment": "pos_order_id."}
# Recorded from 18.0 on; 16 and 17 take the 18.0 definition (FACTS.md: a real 17 has these fields)
_PAYMENT_MODELS = ("pos.payment", "pos.payment.method")
_RESULT_CACHE_SIZE = 6
_READ_METHODS = ("search", "search_read", "search_count", "read")


def _f(ftype: str, string: str, relation: str | None = None, store: bool = True, **kw: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": ftype, "string": string, "readonly": False, "required": False, "store": store}
    if relation:
        spec["relation"] = relation
    spec.update(kw)
    return spec


_COMMON = {
    "id": _f("integer", "ID", readonly=True),
    "display_name": _f("char", "Display Name", store=False, readonly=True),
    "create_date": _f("datetime", "Created on", readonly=True),
    "write_date": _f("datetime", "Last Updated on", readonly=True),
    "create_uid": _f("many2one", "Created by", "res.users", readonly=True),
    "write_uid": _f("many2one", "Last Updated by", "res.users", readonly=True),
}
_EXTRA_SCHEMAS: dict[str, tuple[str, dict[str, dict[str, Any]]]] = {
    "res.company": ("Companies", {"name": _f("char", "Company Name", required=True),
                                  "currency_id": _f("many2one", "Currency", "res.currency"),
                                  "active": _f("boolean", "Active")}),
    "res.users": ("User", {"name": _f("char", "Name"), "login": _f("char", "Login"),
                           "tz": _f("selection", "Timezone", selection=[]), "lang": _f("selection", "Language",
                                                                                         selection=[]),
                           "company_id": _f("many2one", "Company", "res.company"),
                           "company_ids": _f("many2many", "Companies", "res.company"),
                           "active": _f("boolean", "Active"), "share": _f("boolean", "Share User")}),
    "product.brand": ("Brand", {"name": _f("char", "Brand Name", required=True),
                                "description": _f("html", "Description"),
                                "product_ids": _f("one2many", "Brand Products", "product.template"),
                                "products_count": _f("integer", "Number of products", store=False)}),
    "account.tax": ("Tax", {"name": _f("char", "Tax Name"), "amount": _f("float", "Amount"),
                            "amount_type": _f("selection", "Tax Computation",
                                              selection=[["percent", "Percentage of Price"]]),
                            "price_include": _f("boolean", "Included in Price"),
                            "type_tax_use": _f("selection", "Tax Type", selection=[["sale", "Sales"]]),
                            "company_id": _f("many2one", "Company", "res.company"),
                            "active": _f("boolean", "Active")}),
    "uom.uom": ("Product Unit of Measure", {"name": _f("char", "Unit of Measure"),
                                            "active": _f("boolean", "Active")}),
    # product/models/product_template_attribute_value.py (the fields the ETL and Odoo's own display use)
    "product.template.attribute.value": ("Product Template Attribute Value", {
        "name": _f("char", "Value", store=False, related="product_attribute_value_id.name", readonly=True),
        "attribute_id": _f("many2one", "Attribute", "product.attribute", readonly=True),
        "product_attribute_value_id": _f("many2one", "Attribute Value", "product.attribute.value",
                                         required=True),
        "product_tmpl_id": _f("many2one", "Product Template", "product.template", readonly=True),
        "price_extra": _f("float", "Value Price Extra"),
        "ptav_active": _f("boolean", "Active"),
        "ptav_product_variant_ids": _f("many2many", "Related Variants", "product.product", readonly=True)}),
    "product.attribute": ("Product Attribute", {
        "name": _f("char", "Attribute", required=True),
        "create_variant": _f("selection", "Variants Creation Mode", selection=[
            ["always", "Instantly"], ["dynamic", "Dynamically"], ["no_variant", "Never (option)"]]),
        "display_type": _f("selection", "Display Type", selection=[
            ["radio", "Radio"], ["pills", "Pills"], ["select", "Select"], ["color", "Color"]]),
        "sequence": _f("integer", "Sequence")}),
    # base/models/res_partner.py: only what NK Dash reads (id and name); no other personal data
    "res.partner": ("Contact", {"name": _f("char", "Name"), "active": _f("boolean", "Active"),
                                "company_id": _f("many2one", "Company", "res.company")}),
    # account/models/account_cash_rounding.py
    "account.cash.rounding": ("Account Cash Rounding", {
        "name": _f("char", "Name", required=True), "rounding": _f("float", "Rounding Precision", required=True),
        "strategy": _f("selection", "Rounding Strategy", selection=[
            ["biggest_tax", "Modify tax amount"], ["add_invoice_line", "Add a rounding line"]]),
        "rounding_method": _f("selection", "Rounding Method", required=True, selection=[
            ["UP", "Up"], ["DOWN", "Down"], ["HALF-UP", "Nearest"]])}),
    "ir.model": ("Models", {"model": _f("char", "Model"), "name": _f("char", "Model Description"),
                            "transient": _f("boolean", "Transient Model"),
                            "state": _f("selection", "Type", selection=[["manual", "Custom Object"],
                                                                        ["base", "Base Object"]])}),
}
# hr/models/hr_employee.py, present only with pos_hr (which depends on hr)
_HR_EMPLOYEE = ("Employee", {"name": _f("char", "Employee Name", related="resource_id.name"),
                             "user_id": _f("many2one", "User", "res.users"),
                             "company_id": _f("many2one", "Company", "res.company", required=True),
                             "active": _f("boolean", "Active")})
# pos_hr/models/pos_order.py
_POS_HR_ORDER_FIELDS = {
    "employee_id": _f("many2one", "Cashier", "hr.employee", help="The employee who uses the cash register."),
    "cashier": _f("char", "Cashier name", readonly=True),
}
_DESCRIPTIONS = {
    "pos.order": "Point of Sale Orders", "pos.order.line": "Point of Sale Order Lines",
    "pos.session": "Point of Sale Session", "pos.config": "Point of Sale Configuration",
    "pos.category": "Point of Sale Category", "pos.payment": "Point of Sale Payments",
    "pos.payment.method": "Point of Sale Payment Methods", "product.product": "Product Variant",
    "product.template": "Product", "product.category": "Product Category", "res.currency": "Currency",
}
_DEFAULT_ORDER = {"pos.order": "date_order desc, id desc"}
_BRAND_FIELD = _f("many2one", "Brand", "product.brand", help="Select a brand for this product")
_POS_CATEG_16 = _f("many2one", "Point of Sale Category", "pos.category")


def _default(spec: dict[str, Any]) -> Any:
    t = spec["type"]
    if t in ("one2many", "many2many"):
        return []
    if t == "integer":
        return 0
    if t in ("float", "monetary"):
        return 0.0
    return False


class Registry:
    """All models, answering ORM calls the way Odoo 17 (or 16) does."""

    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        self.version = versions.version(cfg.odoo_version)
        self.api_key_revoked = False
        self.catalog = Catalog(cfg)
        self.days = DayStore(cfg, self.catalog)
        self.schemas = self._build_schemas()
        self._static = self._build_static()
        self._sessions: list[dict[str, Any]] | None = None
        self._products_key: tuple[Any, ...] | None = None
        self._products: dict[str, dict[int, dict[str, Any]]] = {}
        self._results: OrderedDict[tuple[Any, ...], list[dict[str, Any]]] = OrderedDict()
        self._display_memo: dict[tuple[str, int], str] = {}
        self._req_days: dict[int, Any] = {}  # days seen by the current call (cleared per call)

    # ---- schemas --------------------------------------------------------------------------
    def _build_schemas(self) -> dict[str, dict[str, dict[str, Any]]]:
        real = versions.recorded_schemas(self.cfg.odoo_version)
        schemas: dict[str, dict[str, dict[str, Any]]] = dict(real)
        if any(m not in real for m in _PAYMENT_MODELS):
            nearest = versions.recorded_schemas(18)
            for m in _PAYMENT_MODELS:
                schemas.setdefault(m, copy.deepcopy(nearest[m]))
        for model, (_desc, fields) in _EXTRA_SCHEMAS.items():
            if (model == "product.brand" and not self.cfg.brands) or model in real:
                continue
            schemas[model] = {**copy.deepcopy(_COMMON), **copy.deepcopy(fields)}
        if self.cfg.pos_hr:
            schemas["hr.employee"] = {**copy.deepcopy(_COMMON), **copy.deepcopy(_HR_EMPLOYEE[1])}
            schemas["pos.order"] = dict(sorted({**schemas["pos.order"], **copy.deepcopy(_POS_HR_ORDER_FIELDS)}.items()))
        for model in ("product.product", "product.template"):
            fields = dict(schemas[model])
            if self.cfg.brands:
                fields["product_brand_id"] = copy.deepcopy(_BRAND_FIELD)
            if self.cfg.odoo_version == 16:
                fields.pop("pos_categ_ids", None)
                fields["pos_categ_id"] = copy.deepcopy(_POS_CATEG_16)
                if model == "product.product":
                    fields["pos_categ_id"]["store"] = False
                    fields["pos_categ_id"]["related"] = "product_tmpl_id.pos_categ_id"
            schemas[model] = dict(sorted(fields.items()))
        return schemas

    def description(self, model: str) -> str:
        if model == "hr.employee":
            return _HR_EMPLOYEE[0]
        return _DESCRIPTIONS.get(model) or _EXTRA_SCHEMAS.get(model, (model, {}))[0]

    def field_spec(self, model: str, fname: str) -> dict[str, Any]:
        spec = self.schemas[model].get(fname)
        if spec is None:
            raise ValueError(f"Invalid field {fname!r} on model {model!r}")
        return spec

    # ---- static records -------------------------------------------------------------------
    def _build_static(self) -> dict[str, dict[int, dict[str, Any]]]:
        cat = self.catalog
        created = cat.created_str
        base = {"create_date": created, "write_date": created, "create_uid": ADMIN_UID, "write_uid": ADMIN_UID}
        static: dict[str, dict[int, dict[str, Any]]] = {}
        static["res.company"] = {cid: {**base, "id": cid, "name": name, "currency_id": 1, "active": True}
                                 for cid, name in cat.companies.items()}
        static["res.currency"] = {1: {**base, "id": 1, "name": "EUR", "symbol": "€", "full_name": "Euro",
                                      "position": "after", "rounding": 0.01, "decimal_places": 2,
                                      "active": True, "rate": 1.0, "inverse_rate": 1.0,
                                      "currency_unit_label": "Euros", "currency_subunit_label": "Cents",
                                      "date": created[:10], "is_current_company_currency": True}}
        static["res.users"] = {ADMIN_UID: {**base, "id": ADMIN_UID, "name": "Administrator",
                                           "login": self.cfg.login, "tz": self.cfg.timezone, "lang": "en_US",
                                           "company_id": 1, "company_ids": sorted(cat.companies),
                                           "active": True, "share": False}}
        for uid, name in cat.users.items():
            login = name.lower().replace(" ", ".").encode("ascii", "ignore").decode()
            static["res.users"][uid] = {**base, "id": uid, "name": name, "login": f"{login}@nk-demo.example",
                                        "tz": self.cfg.timezone, "lang": "en_US", "company_id": 1,
                                        "company_ids": sorted(cat.companies), "active": True, "share": False}
        if self.cfg.pos_hr:
            static["hr.employee"] = {eid: {**base, "id": eid, "name": name, "user_id": uid, "company_id": 1,
                                           "active": True}
                                     for eid, (name, uid) in cat.employees.items()}
        static["product.attribute"] = {aid: {**base, "id": aid, "name": name, "create_variant": "always",
                                             "display_type": "radio", "sequence": aid}
                                       for aid, (name, _values) in ATTRIBUTES.items()}
        static["product.template.attribute.value"] = {
            t.id: {**base, "id": t.id, "name": t.name, "attribute_id": t.attribute_id,
                   "product_attribute_value_id": t.attribute_id * 100 + t.value_index + 1,
                   "_names": {"product_attribute_value_id": t.name},
                   "product_tmpl_id": t.tmpl_id, "price_extra": 0.0, "ptav_active": True,
                   "ptav_product_variant_ids": [v for v in cat.products[t.tmpl_id].variant_ids
                                                if t.id in cat.products[v].ptav_ids]}
            for t in cat.ptavs.values()}
        static["pos.config"] = {s["id"]: {**base, "id": s["id"], "name": s["name"], "company_id": s["company_id"],
                                          "currency_id": 1, "active": True, "iface_tax_included": "total",
                                          "uuid": f"00000000-0000-4000-8000-{s['id']:012d}",
                                          **payments.config_values(i)}
                                for i, s in enumerate(cat.stores)}
        static["pos.payment.method"] = payments.method_records(cat.stores, base)
        static["account.cash.rounding"] = payments.rounding_records(base)
        static["res.partner"] = payments.partner_records(len(cat.stores), self.cfg.seed, base)
        static["product.category"] = {
            cid: {**base, "id": cid, "name": name, "parent_id": parent or False,
                  "complete_name": complete_name(PRODUCT_CATEGORIES, cid),
                  "parent_path": parent_path(PRODUCT_CATEGORIES, cid),
                  "child_id": [c for c, (_n, p) in PRODUCT_CATEGORIES.items() if p == cid],
                  "packaging_reserve_method": "partial"}
            for cid, (name, parent) in PRODUCT_CATEGORIES.items()}
        static["pos.category"] = {
            cid: {**base, "id": cid, "name": name, "parent_id": parent or False, "sequence": cid,
                  "child_id": [c for c, (_n, p) in POS_CATEGORIES.items() if p == cid], "has_image": False}
            for cid, (name, parent) in POS_CATEGORIES.items()}
        for rec in static["pos.category"].values():
            self.version.adapt_pos_category(rec)
        static["account.tax"] = {tid: {**base, "id": tid, "name": name, "amount": float(rate),
                                       "amount_type": "percent", "price_include": incl, "type_tax_use": "sale",
                                       "company_id": 1, "active": True}
                                 for tid, (name, rate, incl) in TAXES.items()}
        static["uom.uom"] = {1: {**base, "id": 1, "name": "Units", "active": True}}
        if self.cfg.brands:
            brand_dt = (cat.created + timedelta(days=1)).strftime(DT_FMT)
            static["product.brand"] = {bid: {**base, "write_date": brand_dt, "id": bid, "name": name,
                                             "description": False}
                                       for bid, name in cat.brands.items()}
        static["ir.model"] = {i + 1: {**base, "id": i + 1, "model": m, "name": self.description(m),
                                      "transient": False, "state": "base"}
                              for i, m in enumerate(sorted(self.schemas))}
        return static

    def _product_tables(self) -> dict[str, dict[int, dict[str, Any]]]:
        """product.product / product.template with current names (renames and mutations applied)."""
        now = self.days.now_str()
        key = (self.days.version, now[:16])
        if key == self._products_key:
            return self._products
        v16 = self.cfg.odoo_version == 16
        cat = self.catalog
        prods: dict[int, dict[str, Any]] = {}
        tmpls: dict[int, dict[str, Any]] = {}
        for pid, p in cat.products.items():
            # the name lives on the template: a rename of any variant renames them all
            over = max((self.days.product_over[v] for v in p.variant_ids if v in self.days.product_over),
                       key=lambda o: o["write_date"], default={})
            name = over.get("name") or p.name_at(now)
            write_date = over.get("write_date") or cat.product_write_date(pid, now)
            single = len(p.variant_ids) == 1
            rec = {
                "id": pid, "name": name, "default_code": p.default_code, "barcode": p.barcode,
                "categ_id": p.categ_id, "list_price": cat.products[p.tmpl_id].price_cents / 100,
                "lst_price": p.price_cents / 100, "price_extra": (p.price_cents - cat.products[p.tmpl_id].price_cents)
                / 100, "standard_price": p.cost_cents / 100, "taxes_id": [p.tax_id], "active": True,
                "available_in_pos": True, "sale_ok": True, "purchase_ok": True, "type": "consu",
                "detailed_type": "consu", "uom_id": 1, "uom_po_id": 1, "uom_name": "Units",
                "currency_id": 1, "cost_currency_id": 1, "create_date": p.create_date, "write_date": write_date,
                "create_uid": ADMIN_UID, "write_uid": ADMIN_UID, "product_variant_count": len(p.variant_ids),
                "tracking": "none", "sequence": 1,
            }
            if v16:
                rec["pos_categ_id"] = p.pos_categ_id
            else:
                rec["pos_categ_ids"] = [p.pos_categ_id]
            if self.cfg.brands:
                rec["product_brand_id"] = p.brand_id
            self.version.adapt_product(rec)
            if pid == p.tmpl_id:
                # a template has a default_code/barcode only when it has a single variant
                tmpls[pid] = {**rec, "default_code": p.default_code if single else False,
                              "barcode": p.barcode if single else False, "lst_price": p.price_cents / 100,
                              "price_extra": 0.0, "product_variant_id": p.variant_ids[0],
                              "product_variant_ids": list(p.variant_ids),
                              "attribute_line_ids": [],
                              "_display": cat.display_name(pid, name) if single else name}
            prods[pid] = {**rec, "product_tmpl_id": p.tmpl_id, "is_product_variant": True,
                          "product_variant_id": p.variant_ids[0], "product_variant_ids": list(p.variant_ids),
                          "product_template_attribute_value_ids": list(p.ptav_ids),
                          "product_template_variant_value_ids": list(p.ptav_ids),
                          "combination_indices": ",".join(str(t) for t in sorted(p.ptav_ids)),
                          "_display": cat.display_name(pid, name)}
        self._products = {"product.product": prods, "product.template": tmpls}
        self._products_key = key
        return self._products

    def _session_records(self) -> list[dict[str, Any]]:
        if self._sessions is None:
            out = []
            ds = self.days
            for d in range(self.cfg.n_days):
                day = ds.day_date(d)
                start = ds.local_to_utc(day, 0)
                stop = ds.local_to_utc(day + timedelta(days=1), 0)
                for st in self.catalog.stores:
                    sid = (d + 1) * 100 + st["id"]
                    out.append({"id": sid, "name": f"POS/{sid:07d}", "config_id": st["id"],
                                "company_id": st["company_id"], "currency_id": 1,
                                "user_id": self.catalog.store_users[st["id"] - 1][0],
                                # the cashier who closed it (Odoo keeps no separate closing user)
                                "_closer": self.catalog.store_users[st["id"] - 1][-1],
                                "start_at": start, "stop_at": stop, "state": "closed",
                                "create_date": start, "write_date": stop, "create_uid": ADMIN_UID,
                                "write_uid": ADMIN_UID, "sequence_number": 1, "login_number": 1,
                                "rescue": False, "update_stock_at_closing": False})
            self._sessions = out
        now = self.days.now_str()
        return [{**s, "write_uid": s["_closer"]} if s["stop_at"] <= now
                else {**s, "state": "opened", "stop_at": False, "write_date": s["start_at"]}
                for s in self._sessions if s["start_at"] <= now]

    # ---- record access (Schema protocol) ----------------------------------------------------
    def get_record(self, model: str, rid: int) -> dict[str, Any] | None:
        if not isinstance(rid, int) or isinstance(rid, bool):
            return None
        if model == "pos.order":
            d = rid // ORDER_BLOCK - 1
            day = self._req_days.get(d)
            if day is None:
                day = self._req_days[d] = self.days.day(d)
            return day.order_by_id.get(rid)
        if model == "pos.order.line":
            return self.days.get_line(rid)
        if model == "pos.payment":
            order = self.get_record("pos.order", rid // payments.PAYMENT_FACTOR)
            return next((p for p in (order or {}).get("_payments", ()) if p["id"] == rid), None)
        if model in ("product.product", "product.template"):
            return self._product_tables()[model].get(rid)
        if model == "pos.session":
            d = rid // 100 - 1
            if not self.days.in_range(d):
                return None
            return next((s for s in self._session_records() if s["id"] == rid), None)
        return self._static.get(model, {}).get(rid)

    def all_records(self, model: str, days: set[int] | None = None) -> Iterable[dict[str, Any]]:
        if model in _DAY_MODELS:
            rng = sorted(days) if days is not None else range(self.cfg.n_days)
            attr = "orders" if model == "pos.order" else "lines"
            for d in rng:
                if not self.days.in_range(d):
                    continue
                if model == "pos.payment":
                    for order in self.days.day(d).orders:
                        yield from order.get("_payments", ())
                else:
                    yield from getattr(self.days.day(d), attr)
            return
        if model in ("product.product", "product.template"):
            yield from self._product_tables()[model].values()
        elif model == "pos.session":
            yield from self._session_records()
        else:
            yield from self._static.get(model, {}).values()

    def display_name(self, model: str, rid: int) -> str:
        memo_key = (model, rid)
        if model not in _DAY_MODELS and memo_key in self._display_memo:
            return self._display_memo[memo_key]
        rec = self.get_record(model, rid)
        if rec is None:
            name = f"{model},{rid}"
        elif model == "product.category":
            name = rec["complete_name"]
        elif model == "pos.category":
            name = complete_name(POS_CATEGORIES, rid)
        elif model in ("product.product", "product.template"):
            name = rec["_display"]
        elif model == "pos.config":
            return self._config_display_name(rec)
        elif model == "product.template.attribute.value":
            name = f"{ATTRIBUTES[rec['attribute_id']][0]}: {rec['name']}"
        else:
            name = str(rec.get("name") or f"{model},{rid}")
        if model not in _DAY_MODELS and model not in ("product.product", "product.template"):
            self._display_memo[memo_key] = name
        return name

    def _config_display_name(self, rec: dict[str, Any]) -> str:
        """pos.config's display name in Odoo 16/17 carries the state of its latest session.

        point_of_sale/models/pos_config.py (`name_get` in 16, `_compute_display_name` in 17): the
        latest session (highest id) missing or closed -> "Name (not used)", else "Name (user name)".
        """
        if self.cfg.odoo_version > 17:
            return str(rec["name"])
        sessions = [s for s in self._session_records() if s["config_id"] == rec["id"]]
        last = max(sessions, key=lambda s: s["id"], default=None)
        if last is None or last["state"] == "closed":
            return f"{rec['name']} (not used)"
        return f"{rec['name']} ({self.display_name('res.users', last['user_id'])})"

    def descendants(self, model: str, ids: Iterable[int], parents: bool = False) -> set[int]:
        recs = {r["id"]: r for r in self.all_records(model)}
        out = set(i for i in ids if i in recs)
        frontier = set(out)
        while frontier:
            if parents:
                nxt = {recs[i].get("parent_id") for i in frontier} - {False, None}
            else:
                nxt = {rid for rid, r in recs.items() if r.get("parent_id") in frontier}
            frontier = nxt - out
            out |= nxt
        return out

    def name_ids(self, model: str, op: str, value: Any) -> set[int]:
        pred = dom.Compiler(self, model).compile(("leaf", ("display_name", op, value)))
        return {r["id"] for r in self.all_records(model) if pred(self._with_display(model, r))}

    def _with_display(self, model: str, rec: dict[str, Any]) -> dict[str, Any]:
        return {**rec, "display_name": self.display_name(model, rec["id"])}

    # ---- candidate days for pos.order / pos.order.line ---------------------------------------
    def _candidate_days(self, model: str, tree: tuple[Any, ...]) -> set[int] | None:
        n = self.cfg.n_days
        ds = self.days
        prefix = _ORDER_PREFIX[model]

        def of_leaf(fname: str, op: str, value: Any) -> set[int] | None:
            if prefix and fname in (prefix[:-1], prefix + "id"):
                fname, id_day = "id*", ds.day_of_order_id
            elif fname == "id":
                id_day = {"pos.order": ds.day_of_order_id, "pos.order.line": ds.day_of_line_id}.get(
                    model, lambda pid: ds.day_of_order_id(pid // payments.PAYMENT_FACTOR))
                fname = "id*"
            if fname == "id*":
                vals = value if isinstance(value, (list, tuple)) else [value]
                ints = [v for v in vals if isinstance(v, int) and not isinstance(v, bool)]
                if op in ("=", "in") and len(ints) == len(vals):
                    return {id_day(v) for v in ints}
                if op in (">", ">=") and ints:
                    return set(range(max(0, id_day(ints[0])), n))
                if op in ("<", "<=") and ints:
                    return set(range(0, min(n, id_day(ints[0]) + 1)))
                return None
            if not isinstance(value, str) or op not in ("=", "<", "<=", ">", ">="):
                return None
            try:
                bound = parse_dt(value)
                if op == "<":  # exclusive: a bound at local midnight does not reach into that day
                    bound -= timedelta(seconds=1)
                day = ds.day_of_dt(bound.strftime(DT_FMT))
            except ValueError:
                return None
            stamp = fname.removeprefix(prefix) if fname.startswith(prefix) else None
            if fname in ("write_date", "create_date") and model != "pos.order":
                stamp = "write_date"
            if stamp == "date_order":
                if op == "=":
                    return {day}
                if op in (">", ">="):
                    return set(range(max(0, day), n))
                return set(range(0, min(n, day + 1)))
            if stamp in ("write_date", "create_date"):
                if op in ("<", "<="):
                    return set(range(0, min(n, day + 1)))
                if op in (">", ">=", "="):
                    mutated = ds.touched | set(ds.extra)
                    return set(range(max(0, day - 1), n)) | mutated
            return None

        def walk(t: tuple[Any, ...]) -> set[int] | None:
            kind = t[0]
            if kind == "leaf":
                return of_leaf(*t[1])
            if kind == "false":
                return set()
            if kind == "&":
                a, b = walk(t[1]), walk(t[2])
                if a is None:
                    return b
                return a if b is None else a & b
            if kind == "|":
                a, b = walk(t[1]), walk(t[2])
                return None if a is None or b is None else a | b
            return None

        return walk(tree)

    # ---- ORM methods -----------------------------------------------------------------------
    def check_model(self, model: str) -> None:
        if model not in self.schemas:
            raise OdooError("builtins.KeyError", f"Object {model} doesn't exist")

    def _check_fields(self, model: str, fields: Iterable[str]) -> None:
        for f in fields:
            if f not in self.schemas[model]:
                raise value_error(f"Invalid field {f!r} on model {model!r}")

    def _search(self, model: str, domain: Any, offset: int = 0, limit: int | None = None,
                order: str | None = None) -> list[dict[str, Any]]:
        if model in self.cfg.no_access_models:
            raise access_error(model, self.description(model))
        try:
            tree = dom.parse(domain)
            for fname, _op, _v in dom.leaves(tree):
                path_model = model
                for part in fname.split("."):
                    spec = self.field_spec(path_model, part)
                    path_model = spec.get("relation", path_model)
            order_spec = dom.parse_order(order or _DEFAULT_ORDER.get(model, "id"),
                                         lambda f: self._check_fields(model, [f]))
        except ValueError as exc:
            raise value_error(str(exc)) from exc
        except OdooError:
            raise
        ds = self.days
        key = (model, json.dumps(domain, default=str), order, ds.version, ds.now_str()[:16])
        matched = self._results.get(key)
        if matched is None:
            days = self._candidate_days(model, tree) if model in _DAY_MODELS else None
            try:
                pred = dom.Compiler(self, model).compile(tree)
            except ValueError as exc:
                raise value_error(str(exc)) from exc
            needs_display = any(f.split(".")[0] == "display_name" for f, _o, _v in dom.leaves(tree))
            recs = self.all_records(model, days)
            if needs_display:
                recs = (self._with_display(model, r) for r in recs)
            matched = dom.sort_records([r for r in recs if pred(r)], order_spec)
            self._results[key] = matched
            while len(self._results) > _RESULT_CACHE_SIZE:
                self._results.popitem(last=False)
        else:
            self._results.move_to_end(key)
        end = None if not limit else offset + int(limit)
        return matched[int(offset or 0):end]

    def _format(self, model: str, rec: dict[str, Any], fields: list[str], load: str | None) -> dict[str, Any]:
        schema = self.schemas[model]
        out: dict[str, Any] = {"id": rec["id"]}
        classic = load != "_classic_write"
        for f in fields:
            if f == "id":
                continue
            spec = schema[f]
            if f == "display_name":
                out[f] = self.display_name(model, rec["id"])
                continue
            if model == "pos.session" and f in payments.CASH_FIELDS:
                out[f] = self._session_cash(rec)[f]
                continue
            if f not in rec:
                out[f] = _default(spec)
                continue
            v = rec[f]
            if spec["type"] == "many2one" and classic and isinstance(v, int) and not isinstance(v, bool):
                names = rec.get("_names")
                v = [v, names[f] if names and f in names else self.display_name(spec["relation"], v)]
            out[f] = v
        return out

    def _fields_arg(self, model: str, fields: Any) -> list[str]:
        if not fields:
            return [f for f in self.schemas[model] if f != "id"]
        if isinstance(fields, str):
            fields = [fields]
        self._check_fields(model, fields)
        return list(dict.fromkeys(fields))

    def search(self, model: str, domain: Any = None, offset: int = 0, limit: int | None = None,
               order: str | None = None, count: bool = False) -> Any:
        recs = self._search(model, domain or [], offset, limit, order)
        return len(recs) if count else [r["id"] for r in recs]

    def search_count(self, model: str, domain: Any = None, limit: int | None = None) -> int:
        return len(self._search(model, domain or [], 0, limit, None))

    def search_read(self, model: str, domain: Any = None, fields: Any = None, offset: int = 0,
                    limit: int | None = None, order: str | None = None, load: str | None = None) -> list[Any]:
        flist = self._fields_arg(model, fields)
        recs = self._search(model, domain or [], offset, limit, order)
        self._display_memo.clear() if len(self._display_memo) > 50_000 else None
        return [self._format(model, r, flist, load) for r in recs]

    def read(self, model: str, ids: Any = None, fields: Any = None, load: str | None = "_classic_read") -> list[Any]:
        if model in self.cfg.no_access_models:
            raise access_error(model, self.description(model))
        flist = self._fields_arg(model, fields)
        ids = [ids] if isinstance(ids, int) else list(ids or [])
        out = []
        for rid in ids:
            rec = self.get_record(model, rid)
            if rec is None:
                continue  # Odoo silently skips missing ids in read()
            out.append(self._format(model, rec, flist, load))
        return out

    def fields_get(self, model: str, allfields: Any = None, attributes: Any = None) -> dict[str, Any]:
        fields = self.schemas[model]
        names = list(fields) if not allfields else [f for f in allfields if f in fields]
        out = {}
        for name in names:
            spec = fields[name]
            out[name] = ({k: v for k, v in spec.items() if k in attributes} if attributes
                         else copy.deepcopy(spec))
        return out

    def write(self, model: str, ids: Any, vals: dict[str, Any]) -> bool:
        if model != "pos.order":
            raise OdooError("odoo.exceptions.AccessError",
                            f"The simulator only supports write on pos.order, not on {model}.")
        self._check_fields(model, vals)
        allowed = {"state", "note"}
        if set(vals) - allowed:
            raise value_error(f"Simulator: only {sorted(allowed)} can be written on pos.order")
        states = [s for s, _label in self.schemas["pos.order"]["state"]["selection"]]
        if "state" in vals and vals["state"] not in states:
            raise value_error(f"Wrong value for pos.order.state: {vals['state']!r}")
        ids = [ids] if isinstance(ids, int) else list(ids)
        for oid in ids:
            try:
                self.days.write_order(int(oid), dict(vals))
            except ValueError as exc:
                raise OdooError("odoo.exceptions.MissingError", str(exc)) from exc
        return True

    def context_get(self, model: str) -> dict[str, Any]:
        return {"lang": "en_US", "tz": self.cfg.timezone, "uid": ADMIN_UID}

    # ---- authentication & dispatch ------------------------------------------------------------
    def _secret_ok(self, password: Any) -> bool:
        return isinstance(password, str) and (password == self.cfg.password or self.api_key_ok(password))

    def api_key_ok(self, key: Any) -> bool:
        """The API key, unless revoked or past its expiration (then Odoo treats it as unknown)."""
        expiry = self.cfg.api_key_expiration
        return (key == self.cfg.api_key and not self.api_key_revoked
                and (expiry is None or self.cfg.current_now() < expiry))

    def check_db(self, db: Any) -> None:
        if db != self.cfg.db:
            raise missing_db(str(db))

    def login(self, db: Any, login: Any, password: Any) -> int | bool:
        self.check_db(db)
        return ADMIN_UID if login == self.cfg.login and self._secret_ok(password) else False

    def check_uid(self, db: Any, uid: Any, password: Any) -> None:
        self.check_db(db)
        if uid != ADMIN_UID or not self._secret_ok(password):
            raise access_denied()

    def call_model(self, model: str, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        self.check_model(model)
        kwargs = {k: v for k, v in (kwargs or {}).items() if k != "context"}
        handlers = {"search": self.search, "search_count": self.search_count, "search_read": self.search_read,
                    "read": self.read, "fields_get": self.fields_get, "write": self.write}
        if method == "context_get" and model == "res.users":
            return self.context_get(model)
        handler = handlers.get(method)
        if handler is None:
            raise OdooError("builtins.AttributeError",
                            f"The method '{method}' does not exist on the model '{model}'")
        if method in _READ_METHODS and model in self.cfg.no_access_models:
            raise access_error(model, self.description(model))
        with self.days.lock:
            self._req_days = {}
            try:
                return handler(model, *args, **kwargs)
            except TypeError as exc:
                raise OdooError("builtins.TypeError", str(exc)) from exc

    def _session_cash(self, session: dict[str, Any]) -> dict[str, Any]:
        d = session["id"] // 100 - 1
        return payments.session_cash(self.days.day(d).orders, session, self.cfg.seed, self.days.day_date(d).isoformat())

    def stats(self, date_from: str, date_to: str) -> dict[str, Any]:
        """/sim/stats: sales KPIs, plus payments by method, customers and the sessions started in the window."""
        out = self.days.stats(date_from, date_to)
        counted = [o for oid in out["order_ids"] if (o := self.days.get_order(oid)) is not None]
        names = {mid: m["name"] for mid, m in self._static["pos.payment.method"].items()}
        out.update(payments.stats(counted, names))
        lo, hi = parse_dt(date_from).strftime(DT_FMT), parse_dt(date_to).strftime(DT_FMT)
        sessions = []
        for s in self._session_records():
            if lo <= s["start_at"] < hi:
                cash = self._session_cash(s)
                sessions.append({"id": s["id"], "store_id": s["config_id"], "state": s["state"],
                                 "expected": f"{cash['cash_register_balance_end']:.2f}",
                                 "counted": f"{cash['cash_register_balance_end_real']:.2f}",
                                 "difference": f"{cash['cash_register_difference']:.2f}"})
        out["sessions"] = sessions
        return out


__all__ = ["Registry", "COUNTED_STATES", "ORDER_BLOCK"]
