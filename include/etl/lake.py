"""The lake: paths, crash-safe writes, publish and compare-and-swap, on a folder or on S3 (docs/lake-contract.md)."""

from __future__ import annotations

import collections
import contextlib
import functools
import glob
import io
import json
import logging
import os
import random
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

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


def _temp_files(base: Path) -> Iterator[Path]:
    """Temp files under `base`; folders that vanish meanwhile (a parallel run's staging) are skipped."""
    for folder, _dirs, names in os.walk(base):  # os.walk ignores a folder it can no longer list
        for name in names:
            if name.startswith(".") and _TMP_MARK in name:
                yield Path(folder, name)


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
    for tmp in _temp_files(base):
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


# --------------------------------------------------------------------------- the lake as one object
# `DATA_LAKE_PATH` is a local folder (the default, everything above) or `s3://bucket/prefix`.
# Every step reaches the lake through `open_lake(root)` and the path-level helpers below, which
# pick the protocol from the path: POSIX rename + flock on a folder, immutable objects + a
# catalog updated by conditional writes on S3 (docs/lake-contract.md, "The lake on S3").

S3_SCHEME = "s3://"
CATALOG = ("_state", "catalog.json")
_PAUSE_BEFORE_COMMIT_S = float(os.environ.get("NK_DASH_TEST_PAUSE_BEFORE_COMMIT_S", "0") or 0)
_ORPHAN_GRACE_S = float(os.environ.get("NK_DASH_ORPHAN_GRACE_S", "3600") or 0)
_CAS_ATTEMPTS = 60
_s3_options: dict[str, Any] = {}
# requests and bytes of this process's own S3 calls (put/get/head), for the receipts and bench/s3_bench.py
S3_STATS: collections.Counter[str] = collections.Counter()


class ConflictError(RuntimeError):
    """A conditional write lost against a concurrent writer (If-Match / If-None-Match failed)."""


def is_s3(path: str | os.PathLike[str]) -> bool:
    return str(path).startswith(S3_SCHEME)


def configure_s3(**options: Any) -> None:
    """Storage options of `s3fs.S3FileSystem` (key, secret, token, endpoint_url, client_kwargs).

    Set by the DAG from the Airflow Connection `aws_default` (plugins/nk_lake.py); without it
    the usual `AWS_*` variables (and `AWS_ENDPOINT_URL`) apply, as for the dashboard.
    """
    global _s3_options
    if options != _s3_options:
        _s3_options = dict(options)
        _s3_fs_cached.cache_clear()


def s3_options() -> dict[str, Any]:
    if _s3_options:
        return dict(_s3_options)
    opts: dict[str, Any] = {}
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        opts["endpoint_url"] = endpoint
    return opts


@functools.lru_cache(maxsize=4)
def _s3_fs_cached(pid: int, frozen: str) -> Any:
    import s3fs

    opts = json.loads(frozen)
    # listings are never cached: the commit protocol reads objects, not listings, and cleanup must see the truth
    return s3fs.S3FileSystem(use_listings_cache=False, skip_instance_cache=True, **opts)


def _s3_fs() -> Any:
    return _s3_fs_cached(os.getpid(), json.dumps(s3_options(), sort_keys=True))


def filesystem(path: str | os.PathLike[str]) -> Any:
    """The fsspec filesystem of a lake path (s3fs for `s3://`, the local one otherwise)."""
    if is_s3(path):
        return _s3_fs()
    import fsspec

    return fsspec.filesystem("file")


def path_of(text: str) -> Any:
    """A lake path as the callers of a folder lake always had it (a `Path`); an S3 URL stays a string."""
    return text if is_s3(text) else Path(text)


def join(root: str | os.PathLike[str], *parts: str) -> str:
    if is_s3(root):
        return "/".join([str(root).rstrip("/"), *(p.strip("/") for p in parts if p)])
    return str(Path(root, *parts))


def _bucket_key(path: str) -> tuple[str, str]:
    bucket, _, key = str(path)[len(S3_SCHEME) :].partition("/")
    return bucket, key


def write_parquet(table: pa.Table, path: str | os.PathLike[str]) -> Written:
    """Write a whole Parquet file: renamed into place on disk, one PUT (visible whole) on S3."""
    if not is_s3(path):
        return write_parquet_atomic(table, path)
    started = time.perf_counter()
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    data = sink.getvalue().to_pybytes()
    put_bytes(str(path), data)
    return Written(str(path), table.num_rows, len(data), time.perf_counter() - started)


def read_table(path: str | os.PathLike[str], columns: list[str] | None = None) -> pa.Table:
    if not is_s3(path):
        return pq.read_table(path, columns=columns)
    return pq.read_table(io.BytesIO(get_bytes(str(path))), columns=columns)


def put_bytes(path: str, data: bytes, *, if_match: str | None = None, if_none_match: bool = False) -> str:
    """PUT one object (visible whole); with `if_match`/`if_none_match` a conditional write. Returns the ETag."""
    bucket, key = _bucket_key(path)
    cond: dict[str, str] = {}
    if if_match is not None:
        cond["IfMatch"] = if_match
    if if_none_match:
        cond["IfNoneMatch"] = "*"
    try:
        S3_STATS.update(put=1, bytes_put=len(data))
        answer = _s3_fs().call_s3("put_object", Bucket=bucket, Key=key, Body=data, **cond)
    except (FileExistsError, OSError) as exc:
        if cond and _precondition_failed(exc):
            raise ConflictError(f"{path}: changed by another writer") from exc
        raise
    return str(answer["ETag"])


def _precondition_failed(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        text = str(seen)
        if "PreconditionFailed" in text or "pre-conditions" in text or "ConditionalRequestConflict" in text:
            return True
        seen = seen.__cause__
    return isinstance(exc, FileExistsError)


def get_object(path: str) -> tuple[bytes, str] | None:
    """The object's bytes and ETag, or None when it does not exist."""
    bucket, key = _bucket_key(path)
    fs = _s3_fs()
    try:
        answer = fs.call_s3("get_object", Bucket=bucket, Key=key)
    except FileNotFoundError:
        return None
    body = answer["Body"]

    async def _read() -> bytes:
        async with body as stream:
            return await stream.read()

    from fsspec.asyn import sync

    data = sync(fs.loop, _read)
    S3_STATS.update(get=1, bytes_got=len(data))
    return data, str(answer["ETag"])


def get_bytes(path: str) -> bytes:
    found = get_object(path)
    if found is None:
        raise FileNotFoundError(path)
    return found[0]


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write a small file whole: temp + rename on disk, one PUT on S3."""
    if is_s3(path):
        put_bytes(str(path), data)
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    return get_bytes(str(path)) if is_s3(path) else Path(path).read_bytes()


def exists(path: str | os.PathLike[str]) -> bool:
    if is_s3(path):
        return get_object_head(str(path)) is not None
    return Path(path).exists()


def file_size(path: str | os.PathLike[str]) -> int:
    if is_s3(path):
        head = get_object_head(str(path))
        if head is None:
            raise FileNotFoundError(path)
        return int(head["ContentLength"])
    return Path(path).stat().st_size


def get_object_head(path: str) -> dict[str, Any] | None:
    bucket, key = _bucket_key(path)
    S3_STATS.update(head=1)
    try:
        return _s3_fs().call_s3("head_object", Bucket=bucket, Key=key)
    except FileNotFoundError:
        return None


def remove_tree(path: str | os.PathLike[str]) -> None:
    """Remove a folder (or every object under a prefix) and, on disk, its parent once empty."""
    if is_s3(path):
        fs = _s3_fs()
        keys = fs.find(str(path))
        if keys:
            fs.rm(keys)
        return
    shutil.rmtree(path, ignore_errors=True)
    with contextlib.suppress(OSError):  # gone already, or a parallel run put a folder in it
        Path(path).parent.rmdir()  # only when empty


def list_objects(prefix: str) -> dict[str, dict[str, Any]]:
    """Objects under an S3 prefix with their details (`LastModified`, `size`); for cleanup only."""
    fs = _s3_fs()
    try:
        return {f"{S3_SCHEME}{name}": info for name, info in fs.find(prefix, detail=True).items()}
    except FileNotFoundError:
        return {}


class Lake:
    """One lake: its root, its filesystem and the operations the steps need."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = str(root).rstrip("/") if is_s3(root) else str(root)
        self.s3 = is_s3(self.root)

    @property
    def fs(self) -> Any:
        return filesystem(self.root)

    def path(self, *parts: str) -> str:
        return join(self.root, *parts)

    def partition_file(self, table: tuple[str, str], day: date) -> str:
        """Where a step writes the day's partition (raw, clean, rejects; facts on disk)."""
        layer, name = table
        return self.path(
            layer, name, f"year={day:%Y}", f"month={day:%m}", f"day={day:%d}", f"{name}_{day.isoformat()}.parquet"
        )

    def dimension_file(self, name: str) -> str:
        return self.path(STAR, f"{name}.parquet")

    # ----------------------------------------------------------------- publish (facts of one day)
    def publish_day(self, day: date, pending: dict[tuple[str, str], str]) -> dict[tuple[str, str], str]:
        """Make the day's pending fact files (in staging) the published ones, all or none on S3.

        On disk each file is renamed over its partition file (fact_sales last). On S3 each is
        copied to a new immutable object with a unique name, then the catalog is swapped by one
        conditional write: the day's new picture becomes visible to readers at that instant.
        """
        if not self.s3:
            return {
                table: str(publish_file(src, partition_file(self.root, table, day))) for table, src in pending.items()
            }
        token = f"{int(time.time())}-{secrets.token_hex(4)}"
        fs = self.fs
        published: dict[tuple[str, str], str] = {}
        for table, src in pending.items():
            final = self.partition_file(table, day).removesuffix(".parquet") + f".{token}.parquet"
            fs.copy(src, final)
            published[table] = final
        if _PAUSE_BEFORE_COMMIT_S:
            time.sleep(_PAUSE_BEFORE_COMMIT_S)  # fault-injection point for the crash tests

        def commit(catalog: dict[str, Any]) -> dict[str, Any]:
            for table, final in published.items():
                catalog.setdefault(table[1], {})[day.isoformat()] = final[len(self.root) + 1 :]
            return catalog

        self.update_json(self.path(*CATALOG), commit)
        return published

    def publish_day_from_table(self, day: date, table: tuple[str, str], data: pa.Table) -> str:
        """Publish one day's file of one fact table from memory (imports and benchmarks)."""
        if not self.s3:
            return write_parquet_atomic(data, partition_file(self.root, table, day)).path
        final = self.partition_file(table, day).removesuffix(".parquet") + f".{secrets.token_hex(6)}.parquet"
        write_parquet(data, final)

        def commit(catalog: dict[str, Any]) -> dict[str, Any]:
            catalog.setdefault(table[1], {})[day.isoformat()] = final[len(self.root) + 1 :]
            return catalog

        self.update_json(self.path(*CATALOG), commit)
        return final

    def catalog(self) -> dict[str, dict[str, str]]:
        """Published fact files by table and day (S3 lakes): the one object readers start from."""
        found = get_object(self.path(*CATALOG)) if self.s3 else None
        return json.loads(found[0]) if found else {}

    def published_files(self, table: tuple[str, str]) -> dict[date, str]:
        """The published file of each loaded day of a fact table."""
        if not self.s3:
            out = {}
            for path in glob.glob(table_glob(self.root, table)):
                name = Path(path).name
                try:
                    out[date.fromisoformat(name[len(table[1]) + 1 : -len(".parquet")])] = path
                except ValueError:
                    continue
            return out
        days = self.catalog().get(table[1], {})
        return {date.fromisoformat(d): self.path(key) for d, key in days.items()}

    # ----------------------------------------------------------------- compare-and-swap
    def update_json(self, path: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        """Read-modify-write of a small JSON object by conditional writes, retried on conflict."""

        def apply(data: bytes | None) -> bytes | None:
            return json.dumps(change(json.loads(data) if data else {}), indent=1, sort_keys=True).encode()

        return json.loads(self.compare_and_swap(path, apply))

    def compare_and_swap(self, path: str, change: Callable[[bytes | None], bytes | None]) -> bytes:
        """Replace an S3 object with `change(current)` only if nobody wrote it meanwhile.

        `If-Match: <ETag>` when it exists, `If-None-Match: *` when it does not; a lost race
        (412) reads again and retries with jitter. `change` returning None writes nothing.
        """
        for attempt in range(1, _CAS_ATTEMPTS + 1):
            found = get_object(path)
            current, etag = (found[0], found[1]) if found else (None, None)
            new = change(current)
            if new is None:
                return current or b""
            try:
                put_bytes(path, new, if_match=etag, if_none_match=etag is None)
                if attempt > 1:
                    log.info("%s written after %d attempt(s) (concurrent writers)", path, attempt)
                return new
            except ConflictError:
                time.sleep(random.uniform(0.01, 0.05) * min(attempt, 10))
        raise ConflictError(f"{path}: gave up after {_CAS_ATTEMPTS} conflicting attempts")

    # ----------------------------------------------------------------- cleanup
    def clean_orphans(self, older_than_s: float | None = None) -> list[str]:
        """Remove what crashed or replaced writers left: temp files on disk; on S3, fact objects that
        the catalog no longer (or never) references, once older than the grace period (a reader that
        opened the previous catalog may still be reading them)."""
        grace = _ORPHAN_GRACE_S if older_than_s is None else older_than_s
        if not self.s3:
            return clean_stale_temp_files(self.root, _STALE_TMP_SECONDS if older_than_s is None else older_than_s)
        catalog = self.catalog()
        referenced = {self.path(key) for days in catalog.values() for key in days.values()}
        now = time.time()
        removed = []
        for table in (FACT_SALES, FACT_PAYMENTS, FACT_SESSIONS):
            for name, info in list_objects(self.path(*table)).items():
                modified = info.get("LastModified")
                age = now - modified.timestamp() if modified is not None else grace
                if name not in referenced and age >= grace:
                    removed.append(name)
        if removed:
            self.fs.rm([r[len(S3_SCHEME) :] for r in removed])
            log.warning("removed %d unreferenced fact object(s) (replaced or left by a crashed publish)", len(removed))
        return removed


def open_lake(root: str | os.PathLike[str] | None = None) -> Lake:
    from include.etl.config import lake_root

    return Lake(root if root is not None else lake_root())


def register_on_duckdb(con: Any, root: str | os.PathLike[str] | None = None) -> Any:
    """Let a DuckDB connection read the lake: on S3 through s3fs registered on it (no `httpfs` needed).

    With `NK_DASH_DUCKDB_HTTPFS=1` (production, where the extension is installed) DuckDB's own
    `httpfs` reads S3 instead; its credentials are then DuckDB's (`CREATE SECRET`).
    """
    target = root if root is not None else open_lake().root
    if is_s3(target) and os.environ.get("NK_DASH_DUCKDB_HTTPFS", "") not in ("1", "true"):
        fs = _s3_fs()
        if not con.filesystem_is_registered(fs.protocol[0] if isinstance(fs.protocol, tuple) else fs.protocol):
            con.register_filesystem(fs)
    elif is_s3(target):
        con.execute("LOAD httpfs")
        _httpfs_secret(con, s3_options())
    return con


def _httpfs_secret(con: Any, opts: dict[str, Any]) -> None:
    """A DuckDB S3 secret from the same storage options (else DuckDB's own credential lookup applies)."""
    if not opts.get("key"):
        return
    from urllib.parse import urlsplit

    def lit(value: str) -> str:
        return "'" + str(value).replace("'", "''") + "'"

    params = [f"KEY_ID {lit(opts['key'])}", f"SECRET {lit(opts.get('secret', ''))}"]
    if opts.get("token"):
        params.append(f"SESSION_TOKEN {lit(opts['token'])}")
    region = (opts.get("client_kwargs") or {}).get("region_name")
    if region:
        params.append(f"REGION {lit(region)}")
    if opts.get("endpoint_url"):
        url = urlsplit(opts["endpoint_url"])
        params += [f"ENDPOINT {lit(url.netloc)}", "URL_STYLE 'path'", f"USE_SSL {str(url.scheme == 'https').lower()}"]
    con.execute(f"CREATE OR REPLACE SECRET nk_dash_lake (TYPE s3, {', '.join(params)})")
