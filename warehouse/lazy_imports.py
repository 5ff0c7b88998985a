"""Modules that a library imports at its top but that our use of it never touches, loaded on
first use instead (the standard library's `importlib.util.LazyLoader`).

Great Expectations imports every expectation it ships when it is imported, and one of them
(the KL-divergence expectation) brings `scipy.stats` and `altair` with it: more than a second
of a small ingest, for code the checkpoint never runs. Imported inside `deferred(...)`, those
modules are created empty and run their code on the first attribute read, by anyone."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager


class _DeferringFinder:
    """A meta path finder that hands out the named modules' usual specs with a lazy loader."""

    def __init__(self, names: Sequence[str]):
        self.names = frozenset(names)

    def find_spec(self, fullname, path, target=None):
        if fullname not in self.names:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None  # not found, or not a loader LazyLoader can wrap: the usual import
        spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


@contextmanager
def deferred(names: Sequence[str]) -> Iterator[None]:
    """Within, importing one of `names` (not yet imported) creates the module but runs it only
    when an attribute of it is first read."""
    finder = _DeferringFinder(names)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
