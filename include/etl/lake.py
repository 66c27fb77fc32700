"""Lake paths and crash-safe Parquet writes (layout: docs/lake-contract.md)."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

log = logging.getLogger(__name__)

RAW_LINES = ("raw", "pos_order_lines")
CLEAN_LINES = ("clean", "pos_order_lines")
REJECTS = ("clean", "pos_order_lines_rejects")
FACT_SALES = ("star-schema", "fact_sales")
FACT_PAYMENTS = ("star-schema", "fact_payments")
FACT_SESSIONS = ("star-schema", "fact_sessions")
STAR = "star-schema"
_TMP_MARK = ".parquet.tmp-"
_STALE_TMP_SECONDS = 3600
_PAUSE_BEFORE_RENAME_S = float(os.environ.get("NK_DASH_TEST_PAUSE_BEFORE_RENAME_S", "0") or 0)


def partition_file(root: str | os.PathLike[str], table: tuple[str, str], day: date) -> Path:
    """`<root>/<layer>/<table>/year=YYYY/month=MM/day=DD/<table>_YYYY-MM-DD.parquet`."""
    layer, name = table
    return (
        Path(root, layer, name, f"year={day:%Y}", f"month={day:%m}", f"day={day:%d}")
        / f"{name}_{day.isoformat()}.parquet"
    )


def dimension_file(root: str | os.PathLike[str], name: str) -> Path:
    return Path(root, STAR, f"{name}.parquet")


def table_glob(root: str | os.PathLike[str], table: tuple[str, str]) -> str:
    layer, name = table
    return str(Path(root, layer, name, "year=*", "month=*", "day=*", "*.parquet"))


@dataclass(frozen=True)
class Written:
    path: str
    rows: int
    bytes: int
    seconds: float


def write_parquet_atomic(table: pa.Table, path: str | os.PathLike[str]) -> Written:
    """Write `table` so readers see the whole file or none, and a crash leaves no `*.parquet` behind.

    The data goes to a hidden name in the same folder that does not end in `.parquet`
    (so DuckDB/pyarrow globs ignore it), is fsynced, then renamed over the target.
    """
    started = time.perf_counter()
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name[: -len('.parquet')]}{_TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}")
    try:
        pq.write_table(table, tmp, compression="zstd")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        if _PAUSE_BEFORE_RENAME_S:
            time.sleep(_PAUSE_BEFORE_RENAME_S)  # fault-injection point for the crash tests
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(target.parent)
    return Written(str(target), table.num_rows, target.stat().st_size, time.perf_counter() - started)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _writer_alive(tmp: Path) -> bool:
    """Whether the process that named this temp file (`...tmp-<pid>-<token>`) still runs here."""
    try:
        pid = int(tmp.name.rsplit(_TMP_MARK, 1)[1].split("-", 1)[0])
    except (IndexError, ValueError):
        return True
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_temp_files(folder: str | os.PathLike[str], older_than_s: float = _STALE_TMP_SECONDS) -> list[str]:
    """Remove temp files of writers that died (kill -9 included).

    A temp file is stale when the process named in it no longer runs on this machine, or,
    for a writer on another machine sharing the lake, when it is older than `older_than_s`.
    """
    removed: list[str] = []
    now = time.time()
    base = Path(folder)
    if not base.exists():
        return removed
    for tmp in base.rglob(f".*{_TMP_MARK}*"):
        try:
            if not _writer_alive(tmp) or now - tmp.stat().st_mtime >= older_than_s:
                tmp.unlink()
                removed.append(str(tmp))
        except FileNotFoundError:
            continue
    if removed:
        log.warning("removed %d stale temp file(s) left by a crashed writer: %s", len(removed), removed)
    return removed


def publish_file(pending: str | os.PathLike[str], target: str | os.PathLike[str]) -> Path:
    """Move a complete file into its published place in one atomic rename."""
    dest = Path(target)
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(pending, dest)
    _fsync_dir(dest.parent)
    return dest
