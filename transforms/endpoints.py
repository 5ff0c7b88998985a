"""Endpoint normalisation: many logged paths, one endpoint name per route."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# Segments that are identifiers rather than route names, by their shape: never words.
_PREFIX = r"(?:[A-Za-z]{1,3}[+:_.~-]?)?"  # `V+`, `id-`, `u_` before an id
_ID_SHAPES = re.compile(
    r"\d+"  # integers
    rf"|{_PREFIX}[0-9a-fA-F]{{8}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{12}}"
    rf"|{_PREFIX}[0-9a-fA-F]{{16,}}"  # long hex (hashes, object ids)
)
_TOKEN = re.compile(r"[A-Za-z0-9_+=~.-]{16,}")
"""A long opaque token (session ids, base64, API keys) when it is not a slug of words."""
_SLUG = re.compile(r"(?:[A-Z]?[a-z]+|[A-Z]+|\d{1,4})(?:[-_.](?:[A-Z]?[a-z]+|[A-Z]+|\d{1,4}))*")
"""Words (and short numbers such as years) joined by - _ or .: a route or a page name."""
ID = "{id}"


def is_id(segment: str) -> bool:
    """Whether a path segment is an identifier: an integer, a UUID or long hex (with or without
    a short prefix), or a long token mixing letters with digits or cases that is not a slug of
    words (`boredom-induced-research` stays, `AbCdEfGhIjKlMnOpQrStUvWxYz_12` folds)."""
    if _ID_SHAPES.fullmatch(segment):
        return True
    if not _TOKEN.fullmatch(segment) or _SLUG.fullmatch(segment):
        return False
    digits = any(c.isdigit() for c in segment)
    letters = any(c.isalpha() for c in segment)
    mixed_case = any(c.isupper() for c in segment) and any(c.islower() for c in segment)
    return (digits and letters) or (mixed_case and len(segment) >= 20)


def fold_ids(path: str) -> str:
    """The path with each identifier segment replaced by {id}."""
    if not path:
        return path
    parts = path.split("/")
    return "/".join(ID if part and is_id(part) else part for part in parts)


def normalise_endpoints(paths: pd.Series) -> pd.Series:
    """Drops scheme and host of full URLs, query strings and fragments; folds identifier
    segments (`is_id`) to `{id}` and trailing slashes."""
    # Logs repeat a few thousand paths millions of times: normalise each distinct path once.
    array = pa.array(paths, type=pa.large_string(), from_pandas=True)
    values = pc.drop_null(pc.unique(array))  # no combined copy of a chunked column
    positions = pc.index_in(array, value_set=values)
    distinct = pd.Series(values.to_pylist(), dtype="str")
    # full URLs (some JSON logs carry them): drop scheme and host, keep the path
    relative = distinct.str.replace(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*", "", regex=True)
    relative = relative.mask(relative == "", "/")
    stripped = relative.str.replace(r"[?#].*$", "", regex=True)
    folded = stripped.map(fold_ids).astype("str")
    folded = folded.where(folded.str.len() <= 1, folded.str.rstrip("/"))
    dictionary = pa.array(folded.tolist(), type=pa.large_string())
    taken = pc.take(dictionary, positions)
    out = taken.to_pandas(types_mapper=lambda _: pd.StringDtype("pyarrow", na_value=np.nan))
    return out.set_axis(paths.index)


VAR = "{var}"
"""A segment folded by its variety: one of too many distinct values under the same parent."""
DEFAULT_FOLD_VARIETY = 100
"""Distinct values a parent may have before they fold into {var}: Drain's default for the
children of one node of its parse tree (`max_children`). Real route tables stay below it
(a REST resource has a few dozen fixed children at most), while names, slugs and tags pass it
quickly; and a source's cap (500 by default) then holds at least five such routes before they
fold, instead of one route's values filling it."""


def _foldable(segment: str) -> bool:
    """A literal value: not a placeholder (`{id}`, `{var}`, a rule's `{name}`), not empty."""
    return bool(segment) and not (segment.startswith("{") and segment.endswith("}"))


def fold_variety(endpoints: Iterable[str], limit: int) -> dict[str, str]:
    """Each endpoint's template: walking the path tree from the root, the values of a segment
    position whose parent (the folded segments before it) has more than `limit` distinct
    literal values, or already a {var} child, become {var}; their subtrees merge and are
    judged together one level down. Placeholders and empty segments neither count nor fold,
    and endpoints that are not paths (`{invalid}`, `*`) stay as they are.

    The result depends on the set of endpoints only, never on their order or counts, and
    folding the templates of a set again, with more endpoints, gives the templates of the
    larger set: `fold(templates(A) | B) == templates(A | B)`, because a parent that folded
    keeps a {var} child and one that did not keeps all its values. A limit of 0 folds
    nothing."""
    distinct = sorted({e for e in endpoints if e is not None})
    if limit <= 0:
        return {e: e for e in distinct}
    paths = [e.split("/") for e in distinct if e.startswith("/")]
    groups = [list(range(len(paths)))]
    depth = 1  # segment 0 is the empty one before the leading slash
    while groups:
        deeper_groups: list[list[int]] = []
        for group in groups:
            deeper = [i for i in group if len(paths[i]) > depth]
            values = {paths[i][depth] for i in deeper}
            if VAR in values or sum(map(_foldable, values)) > limit:
                for i in deeper:
                    if _foldable(paths[i][depth]):
                        paths[i][depth] = VAR
            children: dict[str, list[int]] = {}
            for i in deeper:
                children.setdefault(paths[i][depth], []).append(i)
            deeper_groups.extend(children.values())
        groups = deeper_groups
        depth += 1
    folded = iter("/".join(p) for p in paths)
    return {e: next(folded) if e.startswith("/") else e for e in distinct}


@dataclass(frozen=True)
class VarietyFolding:
    """How one file's endpoints fold, judged over what its source saw before and the file."""

    endpoints: dict[str, str]
    """Each of the file's distinct endpoints and the endpoint it becomes."""
    seen: frozenset[str]
    """The source's templates after this file: what the next file is judged with."""
    refolded: frozenset[str]
    """Templates seen before that fold further now (their parent passed the limit)."""
    folded_parents: tuple[str, ...]
    """Parents whose values this file folded into {var} for the first time."""


def fold_file_endpoints(
    endpoints: Iterable[str], seen: frozenset[str], limit: int
) -> VarietyFolding:
    """Folds a file's endpoints by variety over the source's `seen` templates plus the file's,
    so the file folds as all files so far would have folded together."""
    mine = {e for e in endpoints if e is not None}
    templates = fold_variety(mine | seen, limit)
    after = frozenset(templates.values())
    parents = _folded_parents(after) - _folded_parents(seen)
    return VarietyFolding(
        endpoints={e: templates[e] for e in mine},
        seen=after,
        refolded=frozenset(t for t in seen if templates[t] != t),
        folded_parents=tuple(sorted(parents)),
    )


def _folded_parents(templates: Iterable[str]) -> set[str]:
    """The parents whose values are {var} in these templates (`/` for the root)."""
    parents = set()
    for template in templates:
        segments = template.split("/")
        for depth, segment in enumerate(segments):
            if segment == VAR:
                parents.add("/".join(segments[:depth]) or "/")
    return parents
