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
STAR = "star-schema"
_TMP_MARK = ".parquet.tmp-"
_STALE_TMP_SECONDS = 3600


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


def clean_stale_temp_files(folder: str | os.PathLike[str], older_than_s: float = _STALE_TMP_SECONDS) -> list[str]:
    """Remove temp files left by a writer that died (kill -9) more than `older_than_s` ago."""
    removed: list[str] = []
    now = time.time()
    base = Path(folder)
    if not base.exists():
        return removed
    for tmp in base.rglob(f".*{_TMP_MARK}*"):
        try:
            if now - tmp.stat().st_mtime >= older_than_s:
                tmp.unlink()
                removed.append(str(tmp))
        except FileNotFoundError:
            continue
    if removed:
        log.warning("removed %d stale temp file(s) left by a crashed writer: %s", len(removed), removed)
    return removed
