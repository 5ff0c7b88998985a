"""Column types of the Pandera models beyond pandas' own."""

import numpy as np
from pandera import dtypes
from pandera.engines import pandas_engine


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
