"""`[core] hostname_callable` for several Celery workers on one test machine: each reports its own name.

In production each worker is its own machine or container (`--scale airflow-worker=N`) and the
default FQDN already differs; here both run on 127.0.0.1, so each gets a name that resolves here.
"""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    return os.environ.get("NK_DASH_WORKER_HOSTNAME") or socket.getfqdn()
