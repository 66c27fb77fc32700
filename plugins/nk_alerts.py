"""What `nk_dash_daily` tells people: failed-task notifications, the publish deadline, unusual days.

Channels are chosen by environment variables, read when a message is sent (README,
"Alerts and monitoring"):

- e-mail when `NK_DASH_ALERT_EMAIL_TO` is set: the SMTP provider's `SmtpNotifier` through the
  Connection `NK_DASH_SMTP_CONN_ID` (default `smtp_default`), sender `NK_DASH_ALERT_EMAIL_FROM`
  (else the Connection's `from_email`);
- Slack when `NK_DASH_SLACK_CONN_ID` names a Slack API Connection: the Slack provider's
  `SlackNotifier`, channel `NK_DASH_SLACK_CHANNEL` (default `#nk-dash`).

With neither set, the messages are only logged. Every message names the business day and
the task (or the run), gives the cause on one line with secrets redacted, and links to the
log in the Airflow UI.
"""

from __future__ import annotations

import html
import logging
import os
import re
import sys
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from airflow.sdk import BaseNotifier

log = logging.getLogger(__name__)

DAG_ID = "nk_dash_daily"
_MAX_CAUSE = 300
_URI_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][\w+.-]*://)(?P<user>[^:/@\s]*):(?P<secret>[^@\s]+)@")
_KEY_VALUE = re.compile(r"(?i)\b(password|passwd|pwd|api[_-]?key|token|secret|authorization)\b(\s*[=:]\s*)(\S+)")


# ------------------------------------------------------------------------------- settings
def task_retries() -> int:
    """`NK_DASH_TASK_RETRIES` (default 3): tries after the first, before a failure is notified."""
    return int(os.environ.get("NK_DASH_TASK_RETRIES", "") or 3)


def retry_delay() -> timedelta:
    """`NK_DASH_RETRY_DELAY_S` (default 30 s), doubled on each retry up to 10 minutes."""
    return timedelta(seconds=float(os.environ.get("NK_DASH_RETRY_DELAY_S", "") or 30))


def publish_by() -> time:
    """`NK_DASH_PUBLISH_BY` (default `07:00`): store-local time by which yesterday must be published."""
    return time.fromisoformat(os.environ.get("NK_DASH_PUBLISH_BY", "").strip() or "07:00")


def deadline_interval() -> timedelta:
    """From the moment a run is queued to the deadline: a day's scheduled run is queued at 02:00
    store time (plugins/nk_dash_timetable.py), so `publish_by()` minus that delay, within a day."""
    from nk_dash_timetable import RUN_DELAY

    by = publish_by()
    delta = timedelta(hours=by.hour, minutes=by.minute) - RUN_DELAY
    return delta if delta >= timedelta(0) else delta + timedelta(days=1)


def publish_deadline() -> Any:
    """The DAG's Deadline Alert: `deadline_interval()` after the run was queued — for the scheduled run
    of a day, `publish_by()` the next morning (store time).

    Anchored on the queue time, not on the logical date: a backfill of past days would otherwise
    create deadlines that are missed before their runs even start, and Airflow 3.3.2's scheduler
    dies (`StaleDataError` on table `deadline`, seen with SQLite and PostgreSQL) when such a
    run's success prunes a deadline it is handling at the same moment.

    Left out when the DAG file is parsed by `airflow dags test`: in Airflow 3.3.2, `dag.test()`
    runs a DAG that was serialized without the metadata DB, whose `deadline` holds the alert
    definitions instead of their ids, and a *successful* run then fails in
    `DagRun.update_state` (`'dict' object has no attribute 'hex'`). The scheduler, which
    creates and evaluates deadlines, is unaffected.
    """
    if sys.argv[1:3] == ["dags", "test"]:
        return None
    from airflow.sdk import AsyncCallback, DeadlineAlert, DeadlineReference

    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=deadline_interval(),
        callback=AsyncCallback(deadline_missed, kwargs={"publish_by": publish_by().strftime("%H:%M")}),
        name="business day published",
    )


# -------------------------------------------------------------------------------- messages
def one_line(cause: object) -> str:
    """An exception or text as one line, without passwords, API keys or tokens, at most 300 characters."""
    if isinstance(cause, BaseException):
        # A fail-fast wrapper (AirflowFailException from an Odoo error) is named by what it wraps.
        named = cause.__cause__ if type(cause).__name__ == "AirflowFailException" and cause.__cause__ else cause
        text = f"{type(named).__name__}: {cause}"
    else:
        text = str(cause or "unknown cause")
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), text.strip())
    line = redact(line)
    return line if len(line) <= _MAX_CAUSE else line[: _MAX_CAUSE - 1] + "…"


def redact(text: str) -> str:
    """Airflow's secrets masker (values of connections and variables it has seen), then URI
    passwords and `key=value` secrets, which the masker does not know when a message is built."""
    try:
        from airflow.sdk._shared.secrets_masker.secrets_masker import redact as airflow_redact

        text = str(airflow_redact(text))
    except Exception:  # noqa: BLE001 - the patterns below still apply
        pass
    text = _URI_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    return _KEY_VALUE.sub(lambda m: f"{m[1]}{m[2]}***", text)


def store_tz() -> ZoneInfo:
    return ZoneInfo(os.environ.get("STORE_TIMEZONE", "").strip() or "UTC")


def _as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _ui_base() -> str:
    from airflow.configuration import conf

    return conf.get("api", "base_url", fallback="http://localhost:8080/").rstrip("/")


def failure_message(context: dict[str, Any]) -> tuple[str, str]:
    """(subject, plain text) for a task that failed after its retries."""
    ti = context["ti"]
    logical = _as_datetime(context.get("logical_date"))
    day = logical.astimezone(store_tz()).date().isoformat() if logical else "unknown day"
    cause = one_line(context.get("exception"))
    try:
        link = ti.log_url
    except Exception:  # noqa: BLE001 - a message without a link beats no message
        link = f"{_ui_base()}/dags/{ti.dag_id}/runs/{ti.run_id}/tasks/{ti.task_id}"
    subject = f"[NK Dash] business day {day}: task {ti.task_id} failed"
    body = (
        f"Business day: {day}\nDAG: {ti.dag_id}\nTask: {ti.task_id} (try {ti.try_number}, final)\n"
        f"Cause: {cause}\nLog: {link}\n"
    )
    return subject, body


def deadline_message(context: dict[str, Any], by: str) -> tuple[str, str]:
    """(subject, plain text) for a business day that was not published in time."""
    run = context.get("dag_run") or {}
    logical = _as_datetime(run.get("logical_date"))
    day = logical.astimezone(store_tz()).date().isoformat() if logical else "unknown day"
    run_id = run.get("dag_run_id") or run.get("run_id") or "?"
    dag_id = run.get("dag_id") or DAG_ID
    subject = f"[NK Dash] business day {day} is still missing: not published by {by} store time"
    body = (
        f"Business day: {day}\nDAG: {dag_id}\nRun: {run_id} ({run.get('run_type', '?')}), "
        f"state {run.get('state', '?')}\nCause: the run did not publish the day by {by} "
        f"({store_tz().key}); it failed, hung or never started\n"
        f"Log: {_ui_base()}/dags/{dag_id}/runs/{run_id}\n"
    )
    return subject, body


def anomaly_message(result: dict[str, Any]) -> tuple[str, str]:
    flagged = result["anomalies"]
    subject = f"[NK Dash] business day {result['day']} looks unusual ({len(flagged)} figure(s))"
    lines = [
        f"{a['store_name']}: {a['figure']} {a['value']} (usual {a['median']}, robust z {a['zscore']:+.1f})"
        for a in flagged
    ]
    return subject, f"Business day: {result['day']}\nTask: check_anomalies\n" + "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------- sending
def _html(body: str) -> str:
    return "<pre>" + html.escape(body) + "</pre>"


def _notifiers(subject: str, body: str) -> list[BaseNotifier]:
    out: list[BaseNotifier] = []
    to = [a.strip() for a in os.environ.get("NK_DASH_ALERT_EMAIL_TO", "").split(",") if a.strip()]
    if to:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        out.append(
            SmtpNotifier(
                to=to,
                from_email=os.environ.get("NK_DASH_ALERT_EMAIL_FROM", "").strip() or None,
                subject=subject,
                html_content=_html(body),
                smtp_conn_id=os.environ.get("NK_DASH_SMTP_CONN_ID", "").strip() or "smtp_default",
            )
        )
    slack_conn = os.environ.get("NK_DASH_SLACK_CONN_ID", "").strip()
    if slack_conn:
        from airflow.providers.slack.notifications.slack import SlackNotifier

        out.append(
            SlackNotifier(
                slack_conn_id=slack_conn,
                channel=os.environ.get("NK_DASH_SLACK_CHANNEL", "").strip() or "#nk-dash",
                text=f"*{subject}*\n{body}",
            )
        )
    return out


def send(subject: str, body: str, context: dict[str, Any] | None = None) -> int:
    """Send through every configured channel (synchronously); returns how many were sent."""
    log.warning("%s\n%s", subject, body)
    sent = 0
    for notifier in _notifiers(subject, body):
        try:
            notifier.notify(context or {})
            sent += 1
        except Exception:
            log.exception("could not send the alert through %s", type(notifier).__name__)
    return sent


async def asend(subject: str, body: str) -> int:
    """`send` for the triggerer, where deadline callbacks run."""
    log.warning("%s\n%s", subject, body)
    sent = 0
    for notifier in _notifiers(subject, body):
        try:
            await notifier.async_notify({})
            sent += 1
        except Exception:
            log.exception("could not send the alert through %s", type(notifier).__name__)
    return sent


class FailureNotifier(BaseNotifier):
    """`on_failure_callback` of every task: called once, when the last retry has failed."""

    def notify(self, context: dict[str, Any]) -> None:
        subject, body = failure_message(context)
        send(subject, body, context)


def should_alert_deadline(run: dict[str, Any], deadline_time: Any) -> bool:
    """A scheduled run always; a backfill or manual run only if it existed before its deadline
    (a backfill of last month is created long after each day's deadline and is no emergency)."""
    if run.get("run_type") == "scheduled":
        return True
    try:
        created = _as_datetime(run.get("queued_at") or run.get("run_after"))
        deadline = _as_datetime(deadline_time)
    except (TypeError, ValueError):
        return True  # cannot tell: better one message too many than a silent missing day
    return created is None or deadline is None or created < deadline


async def deadline_missed(context: dict[str, Any] | None = None, *, publish_by: str = "07:00", **_: Any) -> str:
    """Deadline Alert callback (runs in the triggerer): the business day is not published yet."""
    context = context or {}
    run = context.get("dag_run") or {}
    if not should_alert_deadline(run, (context.get("deadline") or {}).get("deadline_time")):
        log.info("deadline passed for %s run %s, created after it: no alert", run.get("run_type"), run.get("run_id"))
        return "skipped"
    subject, body = deadline_message(context, publish_by)
    sent = await asend(subject, body)
    return f"sent {sent}"


def notify_anomalies(result: dict[str, Any]) -> int:
    """Notify unusual days when `NK_DASH_ANOMALY_NOTIFY` is true (they are always logged and exported)."""
    wanted = os.environ.get("NK_DASH_ANOMALY_NOTIFY", "").strip().lower() in ("1", "true", "yes")
    if not result["anomalies"] or not wanted:
        return 0
    subject, body = anomaly_message(result)
    return send(subject, body)


# --------------------------------------------------------------------------------- metrics
def record_task_metrics(context: dict[str, Any]) -> None:
    """`on_success_callback`: the task's figures and seconds into `<lake>/_state/metrics/` (include/etl/metrics.py)."""
    from nk_lake import lake_root  # with the S3 credentials of an S3 lake

    from include.etl import metrics
    from include.etl.business_day import business_day

    try:
        ti = context["ti"]
        logical = _as_datetime(context.get("logical_date"))
        if logical is None:
            return
        day = business_day(logical, store_tz())
        start = _as_datetime(getattr(ti, "start_date", None))
        seconds = (datetime.now(start.tzinfo) - start).total_seconds() if start else None
        value = ti.xcom_pull(task_ids=ti.task_id) if ti.task_id in _FIGURE_TASKS else None
        figures = metrics.task_figures(ti.task_id, value, lake_root(), day)
        metrics.record(lake_root(), day, ti.task_id, seconds, figures)
    except Exception:  # noqa: BLE001 - figures must never fail a load that succeeded
        log.exception("could not record the task's figures")


_FIGURE_TASKS = ("extract", "clean", "publish", "reload_late_changes", "check_anomalies")
