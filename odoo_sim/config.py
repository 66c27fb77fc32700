"""Command-line options of the simulator, gathered in one frozen dataclass."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

_DEFAULT_START = date(2024, 1, 1)
_MAX_LINES_PER_DAY = 250_000


def _today_plus_one() -> date:
    return datetime.now(UTC).date() + timedelta(days=1)


def parse_dt(value: str) -> datetime:
    """Parse an Odoo naive datetime ('YYYY-MM-DD HH:MM:SS', 'T' or date-only accepted)."""
    value = value.strip().replace("T", " ")
    if len(value) == 10:
        value += " 00:00:00"
    return datetime.strptime(value[:19], "%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class SimConfig:
    """Everything that shapes the simulated database; same config + seed = same data."""

    host: str = "127.0.0.1"
    port: int = 8069
    seed: int = 42
    products: int = 2000
    stores: int = 3
    companies: int = 1
    brands_count: int = 40
    lines_per_day: int = 1500
    start_date: date = _DEFAULT_START
    end_date: date = field(default_factory=_today_plus_one)
    timezone: str = "Europe/Brussels"
    db: str = "nkdemo"
    login: str = "admin"
    password: str = "admin"
    api_key: str = "nk-demo-key"
    api_key_expiration: datetime | None = None
    odoo_version: int = 17
    jsonrpc: bool = True
    brands: bool = True
    pos_hr: bool = False
    now: datetime | None = None
    no_access_models: tuple[str, ...] = ()
    cache_lines: int = 400_000
    log_level: str = "INFO"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def n_days(self) -> int:
        return max(0, (self.end_date - self.start_date).days)

    def current_now(self) -> datetime:
        """The simulator's "now" (naive UTC, whole seconds): --now or the wall clock."""
        if self.now is not None:
            return self.now
        return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m odoo_sim",
                                description="Odoo 16-20 simulator (POS data): /jsonrpc and /json/2")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8069)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--products", type=int, default=2000)
    p.add_argument("--stores", type=int, default=3)
    p.add_argument("--companies", type=int, choices=(1, 2), default=1)
    p.add_argument("--brands-count", type=int, default=40)
    p.add_argument("--lines-per-day", type=int, default=1500)
    p.add_argument("--start-date", type=date.fromisoformat, default=_DEFAULT_START)
    p.add_argument("--end-date", type=date.fromisoformat, default=None, help="exclusive; default today+1 (UTC)")
    p.add_argument("--timezone", default="Europe/Brussels")
    p.add_argument("--db", default="nkdemo")
    p.add_argument("--login", default="admin")
    p.add_argument("--password", default="admin")
    p.add_argument("--api-key", default="nk-demo-key")
    p.add_argument("--api-key-expiration", type=parse_dt, default=None,
                   help="naive UTC; from then on the API key is refused like an unknown one")
    p.add_argument("--odoo-version", type=int, choices=(16, 17, 18, 19, 20), default=17)
    p.add_argument("--no-jsonrpc", action="store_true",
                   help="/jsonrpc answers 404, as once `common`/`object` are removed (Odoo 22, Online 21.1)")
    p.add_argument("--no-brands", action="store_true")
    p.add_argument("--pos-hr", action="store_true", help="pos_hr installed: hr.employee and pos.order.employee_id")
    p.add_argument("--now", type=parse_dt, default=None, help="fixed 'now' (naive UTC) for write_date and hiding")
    p.add_argument("--no-access-model", action="append", default=[], metavar="MODEL")
    p.add_argument("--cache-lines", type=int, default=400_000, help="LRU budget of generated lines kept")
    p.add_argument("--log-level", default="INFO")
    return p


def config_from_args(argv: list[str] | None = None) -> SimConfig:
    args = build_parser().parse_args(argv)
    if not 1 <= args.stores <= 99:
        raise SystemExit("--stores must be between 1 and 99")
    if not 1 <= args.lines_per_day <= _MAX_LINES_PER_DAY:
        raise SystemExit(f"--lines-per-day must be between 1 and {_MAX_LINES_PER_DAY}")
    if args.products < 10:
        raise SystemExit("--products must be at least 10")
    ZoneInfo(args.timezone)  # fail fast on a bad zone
    return SimConfig(
        host=args.host,
        port=args.port,
        seed=args.seed,
        products=args.products,
        stores=args.stores,
        companies=args.companies,
        brands_count=max(1, args.brands_count),
        lines_per_day=args.lines_per_day,
        start_date=args.start_date,
        end_date=args.end_date or _today_plus_one(),
        timezone=args.timezone,
        db=args.db,
        login=args.login,
        password=args.password,
        api_key=args.api_key,
        api_key_expiration=args.api_key_expiration,
        odoo_version=args.odoo_version,
        jsonrpc=not args.no_jsonrpc,
        brands=not args.no_brands,
        pos_hr=args.pos_hr,
        now=args.now,
        no_access_models=tuple(args.no_access_model),
        cache_lines=args.cache_lines,
        log_level=args.log_level,
    )
