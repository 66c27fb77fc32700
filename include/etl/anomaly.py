"""'Today looks unusual': a published day against the same weekday of the previous weeks, per store.

For each store the check computes four figures of the day — revenue, orders, refunds share
(refunded amount / gross sales) and discount share (discount granted / sales before
discount) — and scores each against the same weekday of the previous `NK_DASH_ANOMALY_WEEKS`
weeks (default 8) with a robust z-score: (value − median) / (1.4826 × MAD). A figure whose
|z| exceeds `NK_DASH_ANOMALY_Z` (default 3.5) is an anomaly.

No false alarms from:
- **closed days**: a store with no order on the checked day is reported `closed`, not
  scored (a missing business day is the deadline alert's job); closed days in the history
  (no order that weekday) are left out of the baseline, so a holiday does not drag the median;
- **new stores**: a store is scored only when it traded on at least
  `NK_DASH_ANOMALY_MIN_WEEKS` (default 4) of those weekdays; before that it is `new`;
- **days never loaded**: a history day without a published partition is simply absent;
- **flat history**: when MAD is 0 the scale is floored at 5 % of |median| (and at one order
  / one cent / one percentage point), so an exactly repeated figure plus a cent is no alarm.

The result is written to `<lake>/_state/anomalies/<YYYY-MM-DD>.json` (docs/lake-contract.md);
`latest_anomalies(lake_root)` reads the newest file for the dashboard's banner.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from include.etl import lake

log = logging.getLogger(__name__)

FIGURES = ("revenue", "orders", "refunds_share", "discount_share")
_MAD_TO_SIGMA = 1.4826
_RELATIVE_FLOOR = 0.05
# The smallest scale per figure: one cent, one order, one percentage point of a share.
_ABSOLUTE_FLOOR = {"revenue": 0.01, "orders": 1.0, "refunds_share": 0.01, "discount_share": 0.01}
_DIR = ("_state", "anomalies")


@dataclass(frozen=True)
class Settings:
    weeks: int = 8
    min_weeks: int = 4
    threshold: float = 3.5

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            weeks=int(os.environ.get("NK_DASH_ANOMALY_WEEKS", "") or 8),
            min_weeks=int(os.environ.get("NK_DASH_ANOMALY_MIN_WEEKS", "") or 4),
            threshold=float(os.environ.get("NK_DASH_ANOMALY_Z", "") or 3.5),
        )


@dataclass
class StoreCheck:
    store_id: int
    store_name: str
    status: str  # "scored", "closed" (no order that day), "new" (too little history)
    history_days: int
    figures: dict[str, float] = field(default_factory=dict)
    median: dict[str, float] = field(default_factory=dict)
    zscore: dict[str, float] = field(default_factory=dict)
    anomalies: list[str] = field(default_factory=list)


def robust_z(value: float, history: list[float], figure: str) -> tuple[float, float]:
    """(median, robust z-score of `value`) against `history`, with the floors described above."""
    med = statistics.median(history)
    mad = statistics.median(abs(h - med) for h in history)
    scale = max(_MAD_TO_SIGMA * mad, _RELATIVE_FLOOR * abs(med), _ABSOLUTE_FLOOR[figure])
    return med, (value - med) / scale


def history_days(day: date, weeks: int) -> list[date]:
    return [day - timedelta(weeks=w) for w in range(1, weeks + 1)]


_FIGURES_SQL = """
SELECT store_id, any_value(store_name) AS store_name, date,
       count(DISTINCT order_id) AS orders,
       sum(revenue)::DOUBLE AS revenue,
       coalesce(-sum(revenue) FILTER (WHERE is_refund), 0)::DOUBLE AS refunded,
       coalesce(sum(revenue) FILTER (WHERE NOT is_refund), 0)::DOUBLE AS gross,
       coalesce(sum(discount_amount) FILTER (WHERE NOT is_refund), 0)::DOUBLE AS discount
FROM read_parquet(?)
GROUP BY store_id, date
"""


def store_day_figures(files: list[str]) -> dict[tuple[int, date], dict[str, Any]]:
    """Per (store, day): revenue, orders, refunds share, discount share, from the given fact files."""
    import duckdb

    if not files:
        return {}
    con = duckdb.connect()
    if any(lake.is_s3(f) for f in files):
        lake.register_on_duckdb(con, files[0])
    out: dict[tuple[int, date], dict[str, Any]] = {}
    rows = con.execute(_FIGURES_SQL, [files]).fetchall()
    for store_id, name, day, orders, revenue, refunded, gross, discount in rows:
        out[(store_id, day)] = {
            "store_name": name,
            "orders": float(orders),
            "revenue": round(revenue, 2),
            "refunds_share": round(refunded / gross, 4) if gross > 0 else 0.0,
            "discount_share": round(discount / (gross + discount), 4) if gross + discount > 0 else 0.0,
        }
    return out


def check_day(lake_root: str, day: date, settings: Settings | None = None) -> list[StoreCheck]:
    """Score every store that traded on `day` or on one of the compared weekdays."""
    settings = settings or Settings.from_env()
    past = history_days(day, settings.weeks)
    if lake.is_s3(lake_root):  # the catalog names each published day's object
        published = lake.Lake(lake_root).published_files(lake.FACT_SALES)
        files = [published[d] for d in [day, *past] if d in published]
    else:
        files = [str(p) for d in [day, *past] if (p := lake.partition_file(lake_root, lake.FACT_SALES, d)).is_file()]
    figures = store_day_figures(files)
    names = {sid: vals["store_name"] for (sid, _d), vals in sorted(figures.items())}
    checks: list[StoreCheck] = []
    for sid in sorted(names):
        hist = [figures[(sid, d)] for d in past if (sid, d) in figures and figures[(sid, d)]["orders"] > 0]
        today = figures.get((sid, day))
        check = StoreCheck(sid, names[sid], "scored", len(hist))
        if today is None or today["orders"] == 0:
            check.status = "closed"
        elif len(hist) < settings.min_weeks:
            check.status = "new"
            check.figures = {f: today[f] for f in FIGURES}
        else:
            check.figures = {f: today[f] for f in FIGURES}
            for f in FIGURES:
                med, z = robust_z(today[f], [h[f] for h in hist], f)
                check.median[f] = round(med, 4)
                check.zscore[f] = round(z, 2)
                if abs(z) > settings.threshold:
                    check.anomalies.append(f)
        checks.append(check)
    return checks


def anomalies_file(lake_root: str, day: date) -> Path:
    return Path(lake_root, *_DIR, f"{day.isoformat()}.json")


def check_and_record(lake_root: str, day: date, settings: Settings | None = None) -> dict[str, Any]:
    """Run the check, log each anomaly as a warning with its figures, write the result file."""
    settings = settings or Settings.from_env()
    checks = check_day(lake_root, day, settings)
    flagged = [
        {
            "day": day.isoformat(),
            "store_id": c.store_id,
            "store_name": c.store_name,
            "figure": f,
            "value": c.figures[f],
            "median": c.median[f],
            "zscore": c.zscore[f],
        }
        for c in checks
        for f in c.anomalies
    ]
    for a in flagged:
        log.warning(
            "unusual day: %s store %s (%d) %s=%s, usual (median of the same weekday, %d weeks) %s, robust z=%+.1f",
            a["day"], a["store_name"], a["store_id"], a["figure"], a["value"], settings.weeks, a["median"], a["zscore"],
        )
    result = {
        "day": day.isoformat(),
        "settings": asdict(settings),
        "stores": [asdict(c) for c in checks],
        "anomalies": flagged,
    }
    if lake.is_s3(lake_root):  # one PUT: the object appears whole
        path = lake.join(lake_root, *_DIR, f"{day.isoformat()}.json")
        lake.write_bytes(path, json.dumps(result, indent=1).encode())
    else:
        path = anomalies_file(lake_root, day)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        tmp.write_text(json.dumps(result, indent=1))
        os.replace(tmp, path)
    log.info(
        "anomaly receipt: day=%s stores=%d scored=%d closed=%d new=%d anomalies=%d path=%s",
        day, len(checks), sum(c.status == "scored" for c in checks), sum(c.status == "closed" for c in checks),
        sum(c.status == "new" for c in checks), len(flagged), path,
    )
    return result


def read_result(lake_root: str, day: date | None = None) -> dict[str, Any] | None:
    """The check's file for `day`, or for the newest checked day; None when there is none."""
    if lake.is_s3(lake_root):
        base = lake.join(lake_root, *_DIR)
        names = [base + f"/{day.isoformat()}.json"] if day is not None else sorted(lake.list_objects(base))[-1:]
        try:
            return json.loads(lake.read_bytes(names[0])) if names else None
        except (FileNotFoundError, json.JSONDecodeError):
            return None
    if day is not None:
        path = anomalies_file(lake_root, day)
    else:
        files = sorted(Path(lake_root, *_DIR).glob("????-??-??.json"))
        if not files:
            return None
        path = files[-1]
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def latest_anomalies(lake_root: str) -> list[dict[str, Any]]:
    """The anomalies of the newest checked day (empty when it looked usual or nothing was checked)."""
    result = read_result(lake_root)
    return list(result["anomalies"]) if result else []
