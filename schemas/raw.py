"""Raw input formats: what a record must look like before it becomes a canonical event."""

import pandera.pandas as pa
from pandera.typing import Series

API_CSV_COLUMNS = ("timestamp", "endpoint", "response_time_ms", "status_code", "user_id")
"""The header of the plain API request CSV; `service` and `region` are optional extras."""


class ApiCsvRecord(pa.DataFrameModel):
    """One data line of an API request CSV, as text, before types are applied."""

    timestamp: Series[str] = pa.Field(str_length={"min_value": 1})
    endpoint: Series[str] = pa.Field(str_startswith="/")
    response_time_ms: Series[str] = pa.Field(str_length={"min_value": 1})
    status_code: Series[str] = pa.Field(str_matches=r"^\d{3}$")
    user_id: Series[str] = pa.Field(nullable=True)

    class Config:
        strict = False
