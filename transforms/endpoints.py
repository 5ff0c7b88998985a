"""Endpoint normalisation: many logged paths, one endpoint name per route."""

from __future__ import annotations

import re

import pandas as pd

# Segments that are identifiers rather than route names.
_ID_SEGMENT = re.compile(
    r"(?<=/)(?:"
    r"\d+"  # integers
    r"|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"  # UUIDs
    r"|[0-9a-fA-F]{16,}"  # long hex (hashes, object ids)
    r"|[A-Za-z0-9_\-]{24,}"  # long opaque tokens
    r")(?=/|$)"
)


def normalise_endpoints(paths: pd.Series) -> pd.Series:
    """Drops query strings and fragments, folds id-like segments to `{id}` and trailing slashes."""
    stripped = paths.str.replace(r"[?#].*$", "", regex=True)
    folded = stripped.str.replace(_ID_SEGMENT, "{id}", regex=True)
    return folded.where(folded.str.len() <= 1, folded.str.rstrip("/"))
