"""Atomic Parquet reads and writes: a reader never sees a partial file."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

COMPRESSION = "zstd"
STAGING_COMPRESSION = "lz4"
"""Staged fragments live until the next compaction, which reads them once and writes the
partition's file with COMPRESSION: they get the cheaper codec (LZ4 encodes faster than zstd,
for files about half as large again)."""


@dataclass(frozen=True)
class WrittenFile:
    path: Path
    rows: int
    bytes: int
    sha256: str


def write_parquet(
    frame: pd.DataFrame | pa.Table, path: Path, *, compression: str = COMPRESSION
) -> WrittenFile:
    """Writes `frame` to `path` atomically: a hidden temporary file in the same directory,
    flushed to disk, then renamed over the target (the previous version stays readable until
    the rename, and readers skip names starting with a dot)."""
    table = _as_table(frame)
    return _store(_encoded(table, compression), table.num_rows, path)


def _as_table(frame: pd.DataFrame | pa.Table) -> pa.Table:
    return (
        frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    )


def _encoded(table: pa.Table, compression: str) -> pa.Buffer:
    """The table as Parquet, in memory (the checksum comes from the bytes written, not a
    second read)."""
    sink = pa.BufferOutputStream()
    text = text_columns(table.schema)
    pq.write_table(
        table,
        sink,
        compression=compression,
        write_statistics=[f.name for f in table.schema if f.name not in text],
        use_dictionary=text,
    )
    return sink.getvalue()


def _store(encoded: pa.Buffer, rows: int, path: Path) -> WrittenFile:
    """`write_parquet`'s file: written beside `path`, flushed to disk, renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    digest = hashlib.sha256(encoded).hexdigest()
    try:
        with open(tmp, "wb") as handle:
            handle.write(encoded)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)
    return WrittenFile(path=path, rows=rows, bytes=encoded.size, sha256=digest)


def text_columns(schema: pa.Schema) -> list[str]:
    """Text columns get dictionary pages (logs repeat their values) and no min/max
    statistics, which cost more to write than they save; times and numbers get statistics
    (readers prune row groups on them) and plain pages."""
    return [
        field.name
        for field in schema
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type)
    ]


STORE_THREADS = 4
"""Threads per core that write encoded files and wait for the disk to flush them."""


def write_parquet_many(
    items: list[tuple[pd.DataFrame | pa.Table, Path]],
    *,
    compression: str = COMPRESSION,
    prepare: Callable[[pa.Table], pa.Table] | None = None,
) -> list[WrittenFile]:
    """`write_parquet` for each (table, path), several at a time; results in the order given.
    Tables are encoded in one thread per core (Parquet encoding and compression let go of the
    GIL), and each encoded file is written and flushed to disk in threads of their own, which
    mostly wait on the disk. `prepare` turns each table into the rows to write, in the
    encoding threads. Any failure is raised after the others finish, and each file is still
    either its previous version or the new one."""

    def encode(frame: pd.DataFrame | pa.Table) -> tuple[pa.Buffer, int]:
        table = _as_table(frame)
        rows = table if prepare is None else prepare(table)
        return _encoded(rows, compression), rows.num_rows

    if len(items) <= 1:
        return [_store(*encode(table), path) for table, path in items]
    cores = max(os.cpu_count() or 1, 2)
    with (
        ThreadPoolExecutor(max_workers=min(len(items), cores), thread_name_prefix="parquet") as cpu,
        ThreadPoolExecutor(
            max_workers=min(len(items), cores * STORE_THREADS), thread_name_prefix="store"
        ) as disk,
    ):
        encoding = [cpu.submit(encode, table) for table, _ in items]
        storing = [
            disk.submit(lambda encoded=encoded, path=path: _store(*encoded.result(), path))
            for encoded, (_, path) in zip(encoding, items, strict=True)
        ]
        return [stored.result() for stored in storing]


def remove(path: Path) -> bool:
    """Removes a file and its directory if that becomes empty; True if something was removed."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    for parent in (path.parent, path.parent.parent):
        try:
            parent.rmdir()
        except OSError:
            break
    return True


def read_parquet_files(paths: list[Path], columns: list[str] | None = None) -> pd.DataFrame | None:
    """Concatenates the given files; None when there are none."""
    frames = [pq.read_table(p, columns=columns).to_pandas() for p in paths]
    frames = [f for f in frames if len(f)]
    if not frames:
        return None
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
