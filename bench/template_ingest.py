"""Template-mining benchmark: 1,000,000 service-log lines (`servicelog` layout) of a few
hundred templates with variable fields, through what a run does with a landing file (ingest,
compaction, the hourly pass over the hours it touched), with the template tables and without
them (`rebuild_hours(templates=False)`), in the same process: both warmed up on a small file,
then the best of `REPEATS` runs each, alternating, each on a fresh home. Target: at most 3x."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from flows.compute import compact_pending, rebuild_hours
from flows.ingest import catalog_for, ingest_file
from flows.settings import load_settings

LINES = int(os.environ.get("LOGCAST_BENCH_TEMPLATE_LINES", "1000000"))
REPEATS = int(os.environ.get("LOGCAST_BENCH_REPEATS", "3"))
START = pd.Timestamp("2026-10-01", tz="UTC")
HOURS = 24
AS_OF = pd.Timestamp("2026-10-03", tz="UTC")
TARGET = 3.0
SERVICES = ("checkout", "payments", "auth", "search", "orders", "billing", "mailer", "gateway")
LEVELS = np.array(["INFO"] * 6 + ["DEBUG"] * 2 + ["WARNING", "ERROR"], dtype=object)
VERBS = ("failed", "started", "finished", "retrying", "skipped", "queued", "loaded", "sent")
NOUNS = ("payment", "order", "session", "cache", "job", "request", "invoice", "token", "batch")
PLACES = ("for", "from", "to", "after", "in", "with", "on", "by")


def _values(rng: np.random.Generator, kind: str, size: int) -> np.ndarray:
    """`size` values of a variable field, drawn from a pool (values repeat, as in real logs)."""
    pool = 5_000
    if kind == "num":
        values = rng.integers(0, 100_000, pool).astype(str)
    elif kind == "ip":
        values = np.array([".".join(map(str, rng.integers(1, 255, 4))) for _ in range(pool)])
    elif kind == "uuid":
        values = np.array(
            [f"{a:08x}-{b:04x}-4{c:03x}-8{d:03x}-{e:012x}" for a, b, c, d, e in zip(
                rng.integers(0, 2**32, pool), rng.integers(0, 2**16, pool),
                rng.integers(0, 2**12, pool), rng.integers(0, 2**12, pool),
                rng.integers(0, 2**48, pool), strict=True)]
        )  # fmt: skip
    elif kind == "path":
        values = np.array([f"/var/data/{i % 97}/file-{i}.dat" for i in range(pool)])
    elif kind == "ms":
        values = np.char.add(rng.integers(1, 5_000, pool).astype(str), "ms")
    else:  # user names: words no mask removes, so a few templates have many masked forms
        values = np.array([f"user{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}" for i in range(300)])
    return values[rng.integers(0, len(values), size)].astype(object)


def _tag(i: int) -> str:
    """A word naming template `i` (letters only: Drain takes words with digits for values)."""
    return "mod" + chr(97 + i % 26) + chr(97 + i // 26 % 26)


def service_log(lines: int = LINES, templates: int = 300, seed: int = 5) -> str:
    """`lines` service-log lines over `HOURS` hours: `templates` templates (each a service,
    two fixed phrases and two variable fields), used with a skewed (Zipf) frequency."""
    rng = np.random.default_rng(seed)
    kinds = np.array(["num", "ip", "uuid", "path", "ms", "user"])
    shapes = []
    for i in range(templates):
        words = rng.choice(len(VERBS) * len(NOUNS), 1)[0]
        shapes.append(
            (
                SERVICES[i % len(SERVICES)],
                f"{NOUNS[words % len(NOUNS)]} {VERBS[words // len(NOUNS) % len(VERBS)]} {_tag(i)}",
                PLACES[i % len(PLACES)],
                kinds[rng.integers(0, len(kinds), 2)],
            )
        )
    chosen = (rng.zipf(1.4, lines) - 1) % templates
    ts = START + pd.to_timedelta(np.sort(rng.integers(0, HOURS * 3600 * 1000, lines)), "ms")
    text = (
        pd.Series(ts.strftime("%Y-%m-%dT%H:%M:%S."))
        + pd.Series(ts.microsecond // 1000).map("{:03d}Z ".format)
    ).to_numpy(dtype=object)
    level = LEVELS[rng.integers(0, len(LEVELS), lines)]
    body = np.empty(lines, dtype=object)
    for t, (service, phrase, place, (first, second)) in enumerate(shapes):
        rows = np.flatnonzero(chosen == t)
        if not len(rows):
            continue
        a, b = _values(rng, first, len(rows)), _values(rng, second, len(rows))
        body[rows] = f"{service} {phrase} " + a + f" {place} " + b
    return "\n".join(text + level + " " + body) + "\n"


def run(path: Path, home: Path, *, templates: bool) -> float:
    """Seconds from the landing file to its hours' tables, on a fresh home."""
    shutil.rmtree(home, ignore_errors=True)
    settings = load_settings(environ={"LOGCAST_HOME": str(home)}, config_file=home / "none.toml")
    catalog = catalog_for(settings.catalog_url)  # connect before timing
    started = time.perf_counter()
    ingest_file(path, settings=settings, source="bench", fmt="servicelog", as_of=AS_OF)
    compact_pending(settings=settings, run_id="bench")
    rebuild_hours(catalog.dirty_hours(), settings=settings, run_id="bench", templates=templates)
    return time.perf_counter() - started


def main() -> tuple[float, float]:
    work = Path(tempfile.mkdtemp(prefix="logcast-bench-templates-"))
    try:
        path = work / "service.log"
        path.write_text(service_log())
        head = work / "warm.log"
        with open(path) as source:
            head.write_text("".join(source.readline() for _ in range(5_000)))
        run(head, work / "warm-without", templates=False)
        run(head, work / "warm-with", templates=True)
        without = with_templates = float("inf")
        for _ in range(REPEATS):
            without = min(without, run(path, work / "without", templates=False))
            with_templates = min(with_templates, run(path, work / "with", templates=True))
        ratio = with_templates / without
        print(
            f"\nservice-log ingest of {LINES:,} lines (ingest, compaction, hourly pass of "
            f"{HOURS} hours), with templates vs without; best of {REPEATS}"
        )
        print(f"{'without s':>10}{'with s':>9}{'ratio':>7}{'target':>8}  on target")
        print(
            f"{without:>10.2f}{with_templates:>9.2f}{ratio:>7.2f}{'<=' + str(TARGET):>8}  "
            f"{'yes' if ratio <= TARGET else 'no'}"
        )
        return without, with_templates
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
