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
quickly; and no one route takes more than a fifth of a source's default cap (500) before it
folds and gives those places back, where before one route's values could fill it."""


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
    distinct = list(dict.fromkeys(e for e in endpoints if e is not None))
    return dict(zip(distinct, variety_templates(distinct, limit), strict=True))


def variety_templates(endpoints: list[str], limit: int) -> list[str]:
    """`fold_variety` as a list: the template of each endpoint, in order."""
    paths = np.flatnonzero(
        pc.starts_with(pa.array(endpoints, pa.large_string()), "/").to_numpy(zero_copy_only=False)
    )
    out = np.array(endpoints, dtype=object)
    if limit > 0 and len(paths):
        changed, templates = _variety_templates(out[paths].tolist(), limit)
        out[paths[changed]] = templates
    return out.tolist()


def _variety_templates(paths: list[str], limit: int) -> tuple[np.ndarray, np.ndarray]:
    """The positions of the paths that fold and their templates. Level by level, vectorised:
    each path carries the id of its folded prefix (its parent), the distinct (parent, value)
    pairs give each parent's variety, and (parent, folded value) is the next level's id."""
    lists = pc.split_pattern(pa.array(paths, pa.large_string()), "/")
    lengths = pc.list_value_length(lists).to_numpy()
    group = np.zeros(len(paths), np.int64)  # the id of each path's folded prefix
    last = np.zeros(len(paths), np.int64)  # the id of each path's whole folded template
    touched = np.zeros(len(paths), bool)
    levels: list[tuple[np.ndarray, np.ndarray]] = []  # per depth: (parent id, value) of each id
    for depth in range(1, int(lengths.max())):
        active = np.flatnonzero(lengths > depth)
        values = pc.list_element(lists.take(pa.array(active)), depth)
        placeholder = pc.and_(pc.starts_with(values, "{"), pc.ends_with(values, "}"))
        foldable = pc.and_not(pc.greater(pc.utf8_length(values), 0), placeholder)
        foldable = foldable.to_numpy(zero_copy_only=False)
        codes, uniques = pd.factorize(values.to_numpy(zero_copy_only=False))
        uniques = np.append(np.asarray(uniques, dtype=object), VAR)  # VAR's code: width - 1
        width = len(uniques)
        codes[codes == int(np.flatnonzero(uniques == VAR)[0])] = width - 1
        parents = group[active]
        pairs = pd.unique(parents[foldable] * width + codes[foldable])
        variety = np.bincount(pairs // width, minlength=int(parents.max()) + 1)
        has_var = np.zeros(len(variety), bool)
        has_var[parents[codes == width - 1]] = True
        fold = foldable & ((variety > limit) | has_var)[parents]
        codes[fold] = width - 1
        touched[active[fold]] = True
        ids, keys = pd.factorize(parents * width + codes)
        levels.append((keys // width, uniques[keys % width]))
        group[active] = ids
        ends = lengths[active] == depth + 1
        last[active[ends]] = ids[ends]
    changed = np.flatnonzero(touched)
    # ids are per depth: a template is (its depth, its id); name each distinct one once
    inverse, wanted = pd.factorize(last[changed] * (int(lengths.max()) + 1) + lengths[changed])
    names = []
    for node, length in zip(*np.divmod(wanted, int(lengths.max()) + 1), strict=True):
        node, length = int(node), int(length)
        segments = []
        for parent_of, value_of in reversed(levels[: length - 1]):
            segments.append(value_of[node])
            node = int(parent_of[node])
        names.append("/" + "/".join(reversed(segments)))
    return changed, np.array(names, dtype=object)[inverse]


@dataclass(frozen=True)
class VarietyFolding:
    """How one file's endpoints fold, judged over what its source saw before and the file."""

    names: tuple[str, ...]
    """The file's distinct endpoints..."""
    templates: tuple[str, ...]
    """...and the endpoint each becomes."""
    seen: frozenset[str]
    """The source's templates after this file: what the next file is judged with."""
    refolded: frozenset[str]
    """Templates seen before that fold further now (their parent passed the limit)."""
    folded_parents: tuple[str, ...]
    """Parents whose values this file folded into {var} for the first time."""

    @property
    def endpoints(self) -> dict[str, str]:
        return dict(zip(self.names, self.templates, strict=True))


def fold_file_endpoints(
    endpoints: Iterable[str], seen: frozenset[str], limit: int
) -> VarietyFolding:
    """Folds a file's endpoints by variety over the source's `seen` templates plus the file's,
    so the file folds as all files so far would have folded together. With a limit of 0
    nothing folds and `seen` stays as it is (it would only grow)."""
    names = list(dict.fromkeys(e for e in endpoints if e is not None))
    if limit <= 0:
        return VarietyFolding(tuple(names), tuple(names), seen, frozenset(), ())
    mine = set(names)
    before = sorted(seen - mine)
    templates = variety_templates(names + before, limit)
    after = frozenset(templates)
    folded_before = dict(zip(before, templates[len(names) :], strict=True))
    folded_before.update((n, t) for n, t in zip(names, templates, strict=False) if n in seen)
    parents = _folded_parents(after) - _folded_parents(seen)
    return VarietyFolding(
        names=tuple(names),
        templates=tuple(templates[: len(names)]),
        seen=after,
        refolded=frozenset(t for t in seen if folded_before[t] != t),
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
