"""Fitted forecast models on disk: one JSON document per training day, never pickles."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

SeriesKey = tuple[str, str, str]


def models_path(models_dir: Path, day: pd.Timestamp) -> Path:
    return models_dir / f"date={pd.Timestamp(day):%Y-%m-%d}" / "models.json"


def save_models(
    models_dir: Path,
    day: pd.Timestamp,
    models: dict[SeriesKey, str],
    skipped: int = 0,
    *,
    version: int = 1,
) -> Path:
    """Writes the day's models (and how many series were too quiet to model) atomically,
    with the version of the model format that wrote them."""
    path = models_path(models_dir, day)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "trained_through": f"{pd.Timestamp(day):%Y-%m-%d}T00:00:00Z",
        "model_version": version,
        "skipped": skipped,
        "series": [
            {"service": s, "endpoint": e, "metric": m, "model": model}
            for (s, e, m), model in sorted(models.items())
        ],
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(document), encoding="utf-8")
    os.replace(tmp, path)
    return path


def load_models(
    models_dir: Path, day: pd.Timestamp, *, version: int = 1
) -> tuple[dict[SeriesKey, str], int] | None:
    """(models, series skipped) of a day, or None when that day has not been fitted, or was
    fitted by another version of the model format (they are fitted again)."""
    path = models_path(models_dir, day)
    if not path.exists():
        return None
    document = json.loads(path.read_text(encoding="utf-8"))
    if document.get("model_version") != version:
        return None
    models = {(s["service"], s["endpoint"], s["metric"]): s["model"] for s in document["series"]}
    return models, int(document.get("skipped", 0))
