"""Business days: calendar dates in the store's time zone, and their windows in Odoo's naive UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

ODOO_DATETIME = "%Y-%m-%d %H:%M:%S"


def business_day(logical_date: datetime, tz: tzinfo) -> date:
    """The business day a run loads: the store-local date of its logical date.

    Scheduled and backfill runs of `nk_dash_daily` have a logical date at store-local
    midnight, the start of the day they load (see plugins/nk_dash_timetable.py).
    """
    if logical_date.tzinfo is None:
        raise ValueError(f"logical date {logical_date!r} must be time-zone aware")
    return logical_date.astimezone(tz).date()


def local_midnight_utc(day: date, tz: tzinfo) -> datetime:
    """Store-local 00:00 of `day` as naive UTC (Odoo's storage format)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC).replace(tzinfo=None)


def day_window_utc(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """Half-open [start, end) of a business day in naive UTC: 23, 24 or 25 hours long."""
    return local_midnight_utc(day, tz), local_midnight_utc(day + timedelta(days=1), tz)


def odoo_datetime(value: datetime) -> str:
    return value.strftime(ODOO_DATETIME)


def parse_odoo_datetime(value: str) -> datetime:
    """Odoo's naive-UTC datetime string → naive datetime (raises ValueError)."""
    if isinstance(value, str) and len(value) == 19 and value[10] == " ":
        try:
            return datetime.fromisoformat(value)  # the same result as strptime here, ≈ 20× faster
        except ValueError:
            pass
    return datetime.strptime(value, ODOO_DATETIME)


def to_local(utc_naive: datetime, tz: tzinfo) -> datetime:
    return utc_naive.replace(tzinfo=UTC).astimezone(tz)
