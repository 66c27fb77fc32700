"""The lake root for DAG tasks, with S3 credentials from an Airflow Connection.

When `DATA_LAKE_PATH` is `s3://bucket/prefix`, the Connection `aws_default` (or the one named
by `NK_DASH_AWS_CONN_ID`) is read with the Amazon provider's conventions: login = access key
id, password = secret access key, extras `endpoint_url` (an S3-compatible server such as
MinIO), `region_name` and `aws_session_token`. Example:
`AIRFLOW_CONN_AWS_DEFAULT='aws://KEY:SECRET@/?endpoint_url=http%3A%2F%2Fminio%3A9000&region_name=us-east-1'`.
Without that Connection the usual `AWS_*` variables (and instance roles) apply. A local folder
needs nothing from here.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from include.etl.config import lake_root as configured_root

log = logging.getLogger(__name__)


def aws_conn_id() -> str:
    return os.environ.get("NK_DASH_AWS_CONN_ID", "").strip() or "aws_default"


def s3_options_from_connection(conn_id: str) -> dict[str, Any] | None:
    """s3fs storage options from an Airflow Connection of type aws, or None when it is not defined."""
    from airflow.exceptions import AirflowNotFoundException
    from airflow.sdk import BaseHook

    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None
    extra = conn.extra_dejson
    options: dict[str, Any] = {}
    if conn.login:
        options["key"] = conn.login
    if conn.password:
        options["secret"] = conn.password
    if extra.get("aws_session_token"):
        options["token"] = extra["aws_session_token"]
    endpoint = extra.get("endpoint_url") or (extra.get("service_config", {}).get("s3", {}).get("endpoint_url"))
    if endpoint:
        options["endpoint_url"] = endpoint
    if extra.get("region_name"):
        options["client_kwargs"] = {"region_name": extra["region_name"]}
    return options


def lake_root() -> str:
    """`DATA_LAKE_PATH`; for an S3 lake, the filesystem is set up from the Connection first."""
    root = configured_root()
    if root.startswith("s3://"):
        from include.etl import lake  # pyarrow: imported when a task runs, never when the DAG is parsed

        options = s3_options_from_connection(aws_conn_id())
        if options is None:
            log.info("no Airflow Connection %r: S3 credentials from the AWS_* environment", aws_conn_id())
            lake.configure_s3()
        else:
            lake.configure_s3(**options)
    return root
