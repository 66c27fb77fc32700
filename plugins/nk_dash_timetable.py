"""The schedule of `nk_dash_daily`: one run per store-local business day, started at 02:00 store time."""

from __future__ import annotations

import datetime
from typing import Any

from airflow._shared.timezones.timezone import parse_timezone
from airflow.plugins_manager import AirflowPlugin
from airflow.timetables.base import DagRunInfo, DataInterval, TimeRestriction
from airflow.timetables.interval import CronDataIntervalTimetable

_DEFAULT_DELAY = datetime.timedelta(hours=2)
RUN_DELAY = _DEFAULT_DELAY  # a day's scheduled run starts (is queued) this long after the day ends


class BusinessDayTimetable(CronDataIntervalTimetable):
    """Daily data intervals [D 00:00, D+1 00:00) in the store's time zone, run at D+1 02:00.

    The logical date of each run is the store-local midnight that starts its business
    day, so `airflow backfill create --from-date A --to-date B` yields exactly the
    business days A..B. The delay leaves late POS syncs a little time before loading.
    """

    def __init__(self, timezone: Any, run_delay: datetime.timedelta = _DEFAULT_DELAY) -> None:
        super().__init__("0 0 * * *", timezone)
        self._run_delay = run_delay
        self.description = f"daily at {_fmt(run_delay)} store time, loading the previous business day"

    @property
    def summary(self) -> str:
        return f"Business day, run at {_fmt(self._run_delay)}"

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
    ) -> DagRunInfo | None:
        info = super().next_dagrun_info(
            last_automated_data_interval=last_automated_data_interval, restriction=restriction
        )
        if info is None:
            return None
        return info._replace(run_after=info.run_after + self._run_delay)

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> BusinessDayTimetable:
        return cls(parse_timezone(data["timezone"]), datetime.timedelta(seconds=data["run_delay"]))

    def serialize(self) -> dict[str, Any]:
        return {**super().serialize(), "run_delay": self._run_delay.total_seconds()}


def _fmt(delay: datetime.timedelta) -> str:
    minutes = int(delay.total_seconds() // 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class NkDashTimetablePlugin(AirflowPlugin):
    name = "nk_dash_timetable"
    timetables = [BusinessDayTimetable]
