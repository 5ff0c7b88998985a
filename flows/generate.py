"""Writing synthetic landing files and their incident labels to disk."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from transforms.synthetic import DEFAULT_KINDS, hourly_csv_files, synthetic_requests


@dataclass(frozen=True)
class Generated:
    files: list[Path]
    rows: int
    labels_path: Path
    labels: pd.DataFrame
    start: pd.Timestamp
    end: pd.Timestamp  # exclusive


def default_end_day(now: pd.Timestamp | None = None) -> pd.Timestamp:
    """Yesterday, UTC: the last whole day."""
    now = pd.Timestamp.now(tz="UTC") if now is None else now
    return now.floor("D") - pd.Timedelta(days=1)


def generate(
    *,
    days: int,
    endpoints: int,
    out_dir: Path,
    labels_path: Path,
    end_day: pd.Timestamp,
    seed: int = 7,
    kinds: tuple[str, ...] = DEFAULT_KINDS,
) -> Generated:
    """The `days` whole UTC days ending with `end_day`, one CSV file per hour in `out_dir`,
    with incidents of `kinds` (`transforms.synthetic.INCIDENT_KINDS`)."""
    if days < 1:
        raise ValueError(f"--days must be at least 1, got {days}")
    end_day = pd.Timestamp(end_day)
    end_day = (end_day.tz_localize("UTC") if end_day.tzinfo is None else end_day).floor("D")
    start = end_day - pd.Timedelta(days=days - 1)
    events, labels = synthetic_requests(
        start=start, days=days, endpoints=endpoints, seed=seed, kinds=kinds
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for hour, content in hourly_csv_files(events):
        path = out_dir / f"api-{hour:%Y-%m-%dT%H}.csv"
        _write_atomic(path, content)
        written.append(path)
    labels_path.parent.mkdir(parents=True, exist_ok=True)
    out = labels.copy()
    for column in ("start", "end"):
        out[column] = out[column].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    _write_atomic(labels_path, out.to_csv(index=False).encode())
    return Generated(
        files=written,
        rows=len(events),
        labels_path=labels_path,
        labels=labels,
        start=start,
        end=end_day + pd.Timedelta(days=1),
    )


def _write_atomic(path: Path, content: bytes) -> None:
    # A shipper's half-written file must never be ingested: write aside, then rename.
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)
