"""What changes with `--odoo-version` (16..20): schema file, record shapes, name formats, protocols.

Every difference below comes from a recording of a real server in ../shared/odoo/ (copied to
odoo_sim/data/) or from the Odoo source it cites; where no recording exists (16 and 20) the
nearest recorded version is used and docs/odoo-versions.md says so.

| version | fields_get from     | JSON-2 | /jsonrpc                               | `db` service |
|---------|---------------------|--------|----------------------------------------|--------------|
| 16      | 17.0 (+pos_categ_id)| no     | yes                                    | yes          |
| 17      | 17.0                | no     | yes                                    | yes          |
| 18      | 18.0                | no     | yes                                    | yes          |
| 19      | 19.0                | yes    | yes, a deprecation WARNING per request | yes          |
| 20      | 19.0 (no 20 record) | yes    | yes, a deprecation WARNING per request | no           |
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUPPORTED = (16, 17, 18, 19, 20)
_DATA = Path(__file__).parent / "data"
_RECORDED = {16: "17.0", 17: "17.0", 18: "18.0", 19: "19.0", 20: "19.0"}

# addons/rpc/controllers/__init__.py RPC_DEPRECATION_NOTICE (19.0), logged once per /jsonrpc request
# by logger odoo.addons.rpc.controllers.jsonrpc; text as recorded in odoo-19.0-jsonrpc-legacy.md.
RPC_DEPRECATION_NOTICE = (
    "The /xmlrpc, /xmlrpc/2 and /jsonrpc endpoints are deprecated in Odoo 19 and scheduled for removal "
    "in Odoo 20. Please report the problem to the client making the request.\n"
    "Mute this logger: --log-handler %s:ERROR\n"
    "https://www.odoo.com/documentation/latest/developer/reference/external_api.html"
    "#migrating-from-xml-rpc-json-rpc"
)
JSONRPC_LOGGER = "odoo.addons.rpc.controllers.jsonrpc"


@dataclass(frozen=True)
class Version:
    """The behaviour of one Odoo major version, as far as the simulator shows it."""

    major: int

    @property
    def fields_file(self) -> Path:
        return _DATA / f"fields_get-{_RECORDED[self.major]}.json"

    @property
    def has_json2(self) -> bool:
        """`/json/2/<model>/<method>` exists from 19 (addons/rpc/controllers/json2.py)."""
        return self.major >= 19

    @property
    def jsonrpc_deprecated(self) -> bool:
        return self.major >= 19

    @property
    def has_db_service(self) -> bool:
        """Odoo 20 removed the `db` service of /jsonrpc and /xmlrpc (issue 9)."""
        return self.major < 20

    @property
    def has_invoiced_state(self) -> bool:
        """19 removed `invoiced` from pos.order.state (fields diff 18 vs 19)."""
        return self.major < 19

    @property
    def pos_category_children(self) -> str:
        """pos.category `child_id` became `child_ids` in 18 (fields diff 17 vs 18)."""
        return "child_id" if self.major < 18 else "child_ids"

    @property
    def has_detailed_type(self) -> bool:
        """product `detailed_type` is gone in 18 (`type` + `is_storable`)."""
        return self.major < 18

    def log_jsonrpc_call(self) -> None:
        if self.jsonrpc_deprecated:
            logging.getLogger(JSONRPC_LOGGER).warning(RPC_DEPRECATION_NOTICE, JSONRPC_LOGGER)

    # ---- records -------------------------------------------------------------------------
    def adapt_order(self, order: dict[str, Any], config_name: str) -> dict[str, Any]:
        """pos.order as this version writes it: state, `name` and `pos_reference` formats.

        19 (odoo-19.0-pos-demo-data.md): `name` stays "/" until the order is written to `paid`,
        then becomes "<config name> - <last part of pos_reference>"; `pos_reference` is
        "YY<device>-<config id>-<seq>"; an invoiced order stays paid/done with `account_move` set.
        """
        if self.has_invoiced_state:
            return order
        if order["state"] == "invoiced":
            order["state"] = "done"
            order["account_move"] = order["id"]
        seq = f"{order['id']:06d}"
        order["pos_reference"] = f"{order['date_order'][2:4]}0-{order['config_id']}-{seq}"
        paid = order["state"] in ("paid", "done")
        order["name"] = f"{config_name} - {seq}" if paid else "/"
        order["tracking_number"] = seq[-3:]
        return order

    def write_vals(self, order: dict[str, Any], vals: dict[str, Any], config_name: str) -> dict[str, Any]:
        """A state write as this version applies it (the name is set when the order becomes paid)."""
        vals = dict(vals)
        if self.has_invoiced_state:
            return vals
        if vals.get("state") == "invoiced":  # the simulator's `invoice_order` op
            vals["state"] = order["state"] if order["state"] in ("paid", "done") else "done"
            vals["account_move"] = order["id"]
        if vals.get("state") in ("paid", "done") and order.get("name") == "/":
            vals["name"] = f"{config_name} - {order['id']:06d}"
        return vals

    def adapt_product(self, rec: dict[str, Any]) -> dict[str, Any]:
        if not self.has_detailed_type:
            rec.pop("detailed_type", None)
            rec["is_storable"] = rec.get("type") == "product"
            if rec.get("type") == "product":
                rec["type"] = "consu"
        return rec

    def adapt_pos_category(self, rec: dict[str, Any]) -> dict[str, Any]:
        if self.pos_category_children != "child_id" and "child_id" in rec:
            rec[self.pos_category_children] = rec.pop("child_id")
        return rec

    def order_states(self) -> tuple[str, ...]:
        return ("paid", "done", "invoiced", "draft", "cancel") if self.has_invoiced_state else (
            "paid", "done", "draft", "cancel")


def version(major: int) -> Version:
    if major not in SUPPORTED:
        raise ValueError(f"unsupported Odoo version {major}; expected one of {SUPPORTED}")
    return Version(major)


def recorded_schemas(major: int) -> dict[str, dict[str, dict[str, Any]]]:
    """The recorded fields_get of this version, without the entries of models that did not exist."""
    real = json.loads(version(major).fields_file.read_text(encoding="utf-8"))
    return {m: f for m, f in real.items() if f and all(isinstance(v, dict) and "type" in v for v in f.values())}
