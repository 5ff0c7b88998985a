"""Ingesting landing files: read bytes, parse, validate, stage per-file fragments, record the
ledger. Compaction (`warehouse.compaction`) then publishes the staged partitions."""

from __future__ import annotations

import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from flows.settings import Settings
from schemas.registry import hour_partitions
from schemas.requests import Quarantine
from transforms.canonical import EndpointRules
from transforms.formats import registry
from transforms.formats.base import LINE_NUMBER, RAW, REASONS, FileFormatError, rejects_frame
from transforms.formats.file_bytes import readable
from transforms.formats.prefixes import strip_prefix
from transforms.reading import Completer, avoid_huge_pages, read_events, request_schema
from transforms.reason_codes import reason_codes
from warehouse.catalog import Catalog, FileRecord, Fragment
from warehouse.layout import STAGING, Layout, date_partition
from warehouse.storage import STAGING_COMPRESSION, remove, write_parquet, write_parquet_many


class AccountingError(RuntimeError):
    """records read != rows kept + rows quarantined: a defect, never data to keep."""


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one landing file; plain values, fit for task results and artifacts."""

    path: str
    status: str  # ingested | skipped | rejected
    format: str
    source: str = ""
    records_read: int = 0
    rows_kept: int = 0
    rows_quarantined: int = 0
    requests: int = 0
    """Rows kept with an endpoint: requests (and connections)."""
    events: int = 0
    """Rows kept with a level and no endpoint: service-log events."""
    hours: int = 0
    reason: str = ""
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return asdict(self)


_CATALOGS: dict[str, tuple[tuple[int, int] | None, Catalog]] = {}
_CATALOGS_LOCK = threading.Lock()


def _database_file(url: str) -> tuple[int, int] | None:
    """(device, inode) of a SQLite catalog's file, None for other databases or no file yet."""
    if not url.startswith("sqlite"):
        return None
    try:
        found = os.stat(url.split(":///", 1)[-1])
    except OSError:
        return None
    return found.st_dev, found.st_ino


def catalog_for(url: str) -> Catalog:
    """One catalog (and connection pool) per database URL per process. A SQLite catalog whose
    file was replaced since (a home restored from a copy under a long-running `logcast serve`
    or worker) gets a new pool: the old one's open connections would go on writing to the
    replaced file, which no one reads again."""
    identity = _database_file(url)
    with _CATALOGS_LOCK:
        cached = _CATALOGS.get(url)
        if cached is not None and cached[0] == identity:
            return cached[1]
        catalog = Catalog(url)  # creates a SQLite file that is not there yet
        _CATALOGS[url] = (_database_file(url), catalog)
    if cached is not None:
        cached[1].dispose()
    return catalog


def file_id(path: Path) -> str:
    """Stable id of a landing file: the same path always owns the same fragments."""
    return hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]


def landing_files(landing_dir: Path) -> list[Path]:
    """Every visible regular file below the landing folder, in path order."""
    if not landing_dir.exists():
        return []
    return sorted(
        p
        for p in landing_dir.rglob("*")
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(landing_dir).parts)
    )


def fingerprint(path: Path) -> tuple[int, str]:
    """(size, sha256) of a file, read in blocks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def pending_files(paths: list[Path], catalog: Catalog) -> tuple[list[Path], list[Path]]:
    """Splits paths into (new or changed, already ingested as they are)."""
    pending, known = [], []
    for path in paths:
        size, sha = fingerprint(path)
        (known if catalog.is_ingested(str(path.resolve()), size, sha) else pending).append(path)
    return pending, known


def requests_of(events: pa.Table) -> int:
    """The kept rows that are requests: those with an endpoint. The others have a level and
    no endpoint (the `requests` model allows nothing else): service-log events."""
    if "endpoint" not in events.column_names:  # a file of service-log events only
        return 0
    return events.num_rows - events.column("endpoint").null_count


def _in_time_order(events: pa.Table) -> pa.Table:
    """Events by time, lines of the same time in file order (a log is usually in order
    already: then no copy)."""
    ts = events.column("ts").to_numpy()
    if len(ts) < 2 or not (ts[1:] < ts[:-1]).any():
        return events
    return events.take(pc.sort_indices(events, [("ts", "ascending")]))  # stable: file order


def _hour_runs(table: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For events in time order: the first hour (naive UTC) of each run of one hour, where
    each run starts, and where it stops."""
    hours = (
        table.column("ts").to_numpy().astype("datetime64[h]")
        if table.num_rows
        else np.array([], "datetime64[h]")
    )
    starts = (
        np.flatnonzero(np.r_[True, hours[1:] != hours[:-1]]) if len(hours) else np.array([], int)
    )
    stops = np.r_[starts[1:], len(hours)].astype(int)[: len(starts)]
    return hours[starts], starts, stops


def ingest_file(
    path: Path,
    *,
    settings: Settings,
    source: str | None = None,
    fmt: str = "auto",
    run_id: str | None = None,
    as_of: pd.Timestamp,
    force: bool = False,
) -> FileOutcome:
    """Ingests one landing file once; a changed file replaces exactly its own fragments.

    The file's source is `source` if named, else the configured source whose paths match it;
    its format is `fmt` unless that is auto, then the source's format, then detection."""
    config = settings.source_named(source) if source else settings.source_for(path)
    source = config.name
    if fmt == "auto":
        fmt = config.format
    if fmt != "auto":
        registry.get(fmt)  # an unknown format is the caller's error, not the file's
    path = path.resolve()
    catalog = catalog_for(settings.catalog_url)
    avoid_huge_pages()
    # the file is hashed from a handle of its own while it is read (and then parsed): hashlib
    # and file reads let go of the GIL
    hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256")
    hashing = hasher.submit(fingerprint, path)
    hasher.shutdown(wait=False)
    data = path.read_bytes()
    size = len(data)
    sha: str | None = None

    def checksum(data: bytes) -> str:
        """The sha256 of `data`: the one hashed alongside, unless the file changed size
        between the two reads (then `data`'s own)."""
        try:
            hashed_size, hashed = hashing.result()
        except OSError:
            hashed_size, hashed = -1, ""
        return hashed if hashed_size == len(data) else hashlib.sha256(data).hexdigest()

    known = catalog.file(str(path))
    if not force and known and known["size"] == size:
        sha = checksum(data)  # same size: the content decides
        if known["sha256"] == sha:
            return FileOutcome(path=str(path), status="skipped", format=fmt, source=source)

    ingested_at = pd.Timestamp(as_of).tz_convert("UTC")
    chosen = fmt
    notes: tuple[str, ...] = ()
    head = data[:1000]
    try:
        written, read_notes = readable(data, config.encoding)
        head = written[:1000]
        text, prefix = strip_prefix(written)
        chosen = registry.detect(text, written if prefix else None) if fmt == "auto" else fmt
        del written
        seen = catalog.seen_endpoints(source)  # variety is judged over these and the file's
        result = read_events(
            text,
            chosen,
            source=source,
            as_of=ingested_at,
            mapping=config.mapping or None,
            rules=EndpointRules(config.endpoint_rules, config.max_endpoints, config.fold_variety),
            known_endpoints=catalog.known_endpoints(source),
            earliest=settings.earliest_event,
            seen_endpoints=seen,
        )
    except FileFormatError as exc:
        sha = sha or checksum(data)
        first_line = head.split(b"\n", 1)[0].decode("utf-8", errors="backslashreplace")
        events = request_schema().empty_table()
        rejects = rejects_frame([0], [first_line], [str(exc)])
        records_read = 1  # the file counts as one record that could not be read
        reason = str(exc)
    else:
        sha = sha or checksum(data)
        del text, data
        catalog.update_seen_endpoints(
            source, seen, result.seen_endpoints, released=result.released_endpoints
        )
        catalog.add_endpoints(source, result.new_endpoints)
        events, rejects, records_read = result.events, result.rejects, result.records_read
        notes = (
            f"format {chosen}" + (" (detected)" if fmt == "auto" else ""),
            *read_notes,
            *([prefix] if prefix else []),
            *result.notes,
        )
        reason = ""

    if records_read != events.num_rows + len(rejects):
        raise AccountingError(
            f"{path}: read {records_read} records but kept {events.num_rows} and "
            f"quarantined {len(rejects)}"
        )

    layout = Layout(settings.warehouse_dir)
    fid = file_id(path)
    fragments: list[Fragment] = []
    table = _in_time_order(events)
    # rows are sorted by time: each hour is one contiguous, zero-copy slice of the table
    firsts, starts, stops = _hour_runs(table)
    slices = []
    first_hours = pd.DatetimeIndex(firsts).tz_localize("UTC")
    partitions = hour_partitions(firsts)
    for start, stop, hour, partition in zip(starts, stops, first_hours, partitions, strict=True):
        target = layout.staging_dir("requests", partition) / f"{fid}.parquet"
        slices.append((hour, partition, table.slice(start, stop - start), target))
    # each hour completed (every column, the source and file) in the writing threads, from
    # columns made once for the file
    completer = Completer(source, fid, max((part.num_rows for _, _, part, _ in slices), default=0))
    written_files = write_parquet_many(
        [(part, target) for _, _, part, target in slices],
        compression=STAGING_COMPRESSION,
        prepare=completer,
    )
    for (hour, partition, _, target), written in zip(slices, written_files, strict=True):
        fragments.append(Fragment("requests", partition, str(target), written.rows, hour=hour))
    if len(rejects):
        quarantine = Quarantine.validate(
            pd.DataFrame(
                {
                    "source_file": str(path),
                    "line_number": rejects[LINE_NUMBER].astype("Int64"),
                    "raw": rejects[RAW],
                    "reasons": rejects[REASONS],
                    "reason_code": reason_codes(rejects[REASONS]),
                    "source": source,
                    "ingested_at": ingested_at,
                }
            ).sort_values("line_number", kind="stable")
        )
        target = layout.staging_dir("quarantine", date_partition(ingested_at)) / f"{fid}.parquet"
        written = write_parquet(
            quarantine.reset_index(drop=True), target, compression=STAGING_COMPRESSION
        )
        fragments.append(
            Fragment(
                "quarantine", date_partition(ingested_at), str(target), written.rows, hour=None
            )
        )

    requests = requests_of(events)
    counts = {  # what the ledger records and the run reports alike
        "records_read": records_read,
        "rows_kept": events.num_rows,
        "rows_quarantined": len(rejects),
        "requests": requests,
        "events": events.num_rows - requests,
    }
    record = FileRecord(
        file_id=fid, path=str(path), size=size, sha256=sha, source=source, format=chosen, **counts
    )
    for stale in catalog.record_file(record, fragments, run_id):
        if STAGING in Path(stale).parts:  # rows already compacted go when their partition is
            remove(Path(stale))
    return FileOutcome(
        path=str(path),
        status="rejected" if reason else "ingested",
        format=chosen,
        source=source,
        **counts,
        hours=sum(1 for f in fragments if f.table_name == "requests"),
        reason=reason,
        notes=notes,
    )
