"""Column types of the Pandera models beyond pandas' own."""

import sys

import numpy as np
from pandera import dtypes
from pandera.engines import pandas_engine


def _pandera_without_dask_types() -> None:
    """Pandera learns which dataframe libraries it may meet by importing each of them when
    the first model's schema is built; `dask.dataframe` alone takes most of a second, a large
    part of a small ingest. No model here describes a Dask frame (the Dask task runner runs
    tasks; Pandera validates pandas frames in them), so Pandera's Dask typing is loaded here
    with `dask.dataframe` held back, and Pandera counts Dask as absent. Importing
    `dask.dataframe` afterwards works as usual."""
    if "pandera.typing.dask" in sys.modules or "dask.dataframe" in sys.modules:
        return
    sys.modules["dask.dataframe"] = None  # type: ignore[assignment]  # an ImportError inside
    try:
        import pandera.typing.dask  # noqa: F401
    finally:
        del sys.modules["dask.dataframe"]


_pandera_without_dask_types()


@pandas_engine.Engine.register_dtype
@dtypes.immutable(init=True)
class Text(pandas_engine.STRING):
    """pandas' default string column (`str`, Arrow-backed), checked as a whole column.

    Pandera's own string type answers a column of exactly its type with one `True` per row,
    and then builds and formats an (empty) table of failure cases for every string column of
    every validation: most of the time of validating a few hundred rows. This type answers
    such a column with one `True`; any other column is checked as Pandera checks it.
    """

    def check(self, pandera_dtype, data_container=None):
        result = super().check(pandera_dtype, data_container)
        if isinstance(result, np.ndarray) and result.all():
            return True
        return result
