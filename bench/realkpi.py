"""The realkpi corpus: real, labelled service KPI series (`<eval dir>/realkpi/*.csv.gz`, one
series a file with the columns timestamp, value, label), read into frames of ds, y and label.

The eval directory is `$LOGCAST_EVAL_DIR` when set, else `../shared/eval` next to the
repository. Timestamps are ISO 8601 UTC and may leave gaps; a series' grid step is the median
difference between consecutive timestamps (1 minute, 5 minutes or 1 hour in this corpus).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ("timestamp", "value", "label")
SUFFIX = ".csv.gz"


@dataclass(frozen=True, eq=False)
class KpiSeries:
    """One labelled series: `frame` has ds (UTC), y (float) and label (bool), one row per
    observation in time order; `step` is its grid step; `rows` counts the file's rows (more
    than len(frame) when only a leading slice was read)."""

    name: str
    frame: pd.DataFrame
    step: pd.Timedelta
    rows: int

    @property
    def sliced(self) -> bool:
        return len(self.frame) < self.rows


def eval_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where the evaluation corpora live: $LOGCAST_EVAL_DIR, else ../shared/eval beside the
    repository."""
    environ = os.environ if environ is None else environ
    configured = environ.get("LOGCAST_EVAL_DIR")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "eval"


def realkpi_dir(directory: Path) -> Path:
    return Path(directory) / "realkpi"


def series_files(directory: Path) -> list[Path]:
    """The realkpi series files under the eval directory, by name; none when it is absent."""
    folder = realkpi_dir(directory)
    return sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []


def missing_message(
    directory: Path, consequence: str = "only the synthetic set is scored"
) -> str | None:
    """One sentence when the eval directory holds no realkpi series, else None."""
    if series_files(directory):
        return None
    return (
        f"realkpi: no labelled series (*{SUFFIX}) found in {realkpi_dir(directory)}, so "
        f"{consequence} (set LOGCAST_EVAL_DIR to the folder that holds realkpi/)."
    )


def series_name(path: Path) -> str:
    return Path(path).name.removesuffix(SUFFIX)


def load_series(path: Path) -> KpiSeries:
    """One series file, checked: the three columns, ISO timestamps strictly increasing."""
    path = Path(path)
    try:
        raw = pd.read_csv(path, compression="gzip", dtype={"timestamp": str, "value": str})
    except (OSError, ValueError, EOFError) as error:
        raise ValueError(f"{path}: cannot read it as a gzip CSV file ({error})") from None
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise ValueError(f"{path}: expected the columns {', '.join(COLUMNS)}; missing {missing}")
    ds = pd.to_datetime(raw["timestamp"], utc=True, format="ISO8601", errors="coerce")
    if ds.isna().any():
        line = int(np.flatnonzero(ds.isna().to_numpy())[0]) + 2
        raise ValueError(f"{path}, line {line}: expected an ISO 8601 timestamp")
    if len(ds) < 2:
        raise ValueError(f"{path}: expected at least two rows to find the grid step")
    steps = ds.diff().iloc[1:]
    if (steps <= pd.Timedelta(0)).any():
        line = int(np.flatnonzero((steps <= pd.Timedelta(0)).to_numpy())[0]) + 3
        raise ValueError(f"{path}, line {line}: timestamps must be strictly increasing")
    y = pd.to_numeric(raw["value"], errors="coerce").to_numpy(dtype="float64")
    label = pd.to_numeric(raw["label"], errors="coerce").fillna(0).to_numpy() != 0
    frame = pd.DataFrame({"ds": ds.dt.as_unit("ns"), "y": y, "label": label})
    return KpiSeries(series_name(path), frame, pd.Timedelta(steps.median()), len(frame))


def head(series: KpiSeries, rows: int | None) -> KpiSeries:
    """The series' first `rows` rows (all of them for None); the step stays the whole file's."""
    if rows is None or rows >= len(series.frame):
        return series
    frame = series.frame.iloc[:rows].reset_index(drop=True)
    return KpiSeries(series.name, frame, series.step, series.rows)


def load_realkpi(directory: Path, names: Collection[str] | None = None) -> list[KpiSeries]:
    """Every realkpi series under the eval directory (or those of `names`), by name."""
    files = series_files(directory)
    if names is not None:
        files = [f for f in files if series_name(f) in set(names)]
    return [load_series(f) for f in files]
