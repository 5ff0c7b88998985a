"""`python -m bench floor`: the least an ingest of the benchmark's 1,000,000-line jsonl file
can cost with the readers logcast uses, beside DuckDB and logcast's own ingest.

Two floors read the file as `ingest_file` does (the whole file, cut by `reading.spans`, the
pieces parsed by Arrow's JSON reader in `PIECES_AHEAD` threads with an explicit schema), parse
the times, put the rows in time order and write one LZ4 Parquet file per hour, and do nothing
else: no key choice, no checks, no endpoint normalisation, no attributes, no quarantine, no
ledger.

- `floor`: also hashes the file (sha256, in a thread of its own, as the ledger needs) and
  writes each hour as `write_parquet_many` does (a temporary file flushed to disk, renamed,
  the directory flushed).
- `bare floor`: neither hash nor flushes: the parse and the writes alone.

`duckdb` and `ours` are `bench.ingest`'s two sides. All four alternate on the same file after a
warm-up, best and median of `LOGCAST_BENCH_REPEATS` (default 5) runs each. An ingest that keeps
every record's fields, checks every record and is durable cannot go below `floor`; where
`floor` is not below DuckDB, neither can the ingest be."""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson
import pyarrow.parquet as pq

from bench.ingest import events, run_duckdb, run_ours, warm_up, write_jsonl
from flows.ingest import _hour_runs, _in_time_order, fingerprint
from transforms.reading import PIECES_AHEAD, spans
from warehouse.storage import STAGING_COMPRESSION, write_parquet_many

REPEATS = int(os.environ.get("LOGCAST_BENCH_REPEATS", "5"))
SCHEMA = pa.schema(
    [
        ("timestamp", pa.large_string()),
        ("path", pa.large_string()),
        ("latency_ms", pa.float64()),
        ("status", pa.int64()),
        ("user_id", pa.large_string()),
        ("service", pa.large_string()),
        ("region", pa.large_string()),
    ]
)
"""The keys `bench.ingest.write_jsonl` writes, typed as logcast's JSON reader reads them."""


def _piece(view: memoryview) -> pa.Table:
    table = pajson.read_json(
        pa.BufferReader(view),
        read_options=pajson.ReadOptions(block_size=8 << 20, use_threads=False),
        parse_options=pajson.ParseOptions(
            explicit_schema=SCHEMA, unexpected_field_behavior="infer"
        ),
    )
    ts = pc.cast(table.column("timestamp"), pa.timestamp("ms", tz="UTC"))  # ISO 8601, Z
    return table.set_column(0, "ts", ts)


def _hours(path: Path, durable: bool) -> list[tuple[pa.Table, str]]:
    """The file's rows in time order, one table per hour, with its hour (and the file's sha256
    when durable)."""
    hashing = None
    if durable:
        hasher = ThreadPoolExecutor(max_workers=1)
        hashing = hasher.submit(fingerprint, path)
        hasher.shutdown(wait=False)
    text = path.read_bytes()
    view = memoryview(text)
    with ThreadPoolExecutor(max_workers=PIECES_AHEAD) as pool:
        table = pa.concat_tables(
            pool.map(lambda s: _piece(view[s[0] : s[1]]), spans(text, "jsonl"))
        )
    if hashing is not None:
        hashing.result()
    table = _in_time_order(table)
    firsts, starts, stops = _hour_runs(table)
    return [
        (table.slice(start, stop - start), str(hour))
        for hour, start, stop in zip(firsts, starts, stops, strict=True)
    ]


def floor(path: Path, out: Path, durable: bool = True) -> float:
    """Seconds to read, (hash,) parse, order and write the file's hours under `out`."""
    started = time.perf_counter()
    hours = _hours(path, durable)
    targets = [(table, out / f"hour={hour}" / "part.parquet") for table, hour in hours]
    if durable:
        write_parquet_many(targets, compression=STAGING_COMPRESSION)
    else:

        def write(item: tuple[pa.Table, Path]) -> None:
            item[1].parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(item[0], item[1], compression=STAGING_COMPRESSION)

        with ThreadPoolExecutor(max_workers=2 * (os.cpu_count() or 2)) as pool:
            list(pool.map(write, targets))
    return time.perf_counter() - started


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="logcast-floor-"))
    try:
        path = work / "requests.jsonl"
        write_jsonl(events(), path)
        warm_up("jsonl", path, work)
        floor(path, work / "warm-floor")
        sides = {
            "duckdb": lambda k: run_duckdb("jsonl", path, work / f"duck-{k}"),
            "floor": lambda k: floor(path, work / f"floor-{k}"),
            "bare floor": lambda k: floor(path, work / f"bare-{k}", durable=False),
            "ours": lambda k: run_ours("jsonl", path, work / "home")[0],
        }
        times: dict[str, list[float]] = {name: [] for name in sides}
        for k in range(REPEATS):
            for name, run in sides.items():
                times[name].append(run(k))
        duck = min(times["duckdb"])
        print(
            f"\njsonl, 1,000,000 lines: the least an ingest costs; {REPEATS} runs each, alternating"
        )
        print(f"{'side':<12}{'best s':>8}{'median s':>10}{'ratio':>7}")
        for name, taken in times.items():
            best = min(taken)
            print(f"{name:<12}{best:>8.2f}{statistics.median(taken):>10.2f}{best / duck:>7.2f}")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
