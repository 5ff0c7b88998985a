"""The bytes of template mining: the mapping of each (service, masked message) to its
template, as last mined (`_templates/mapping.parquet` under the warehouse root), and reads of
the vocabulary (`log_messages_hourly`, every hour), of every template (`log_templates`, every
day) and of the events of a `requests` hour."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from schemas.common import empty_frame
from schemas.templates import LogMessagesHourly, LogTemplates
from warehouse.layout import PART_FILE, Layout
from warehouse.storage import write_parquet

TEMPLATES_DIR = "_templates"
MAPPING_COLUMNS = ["service", "message", "template_id", "template"]
EVENT_COLUMNS = ["ts", "service", "level", "message"]
"""The `requests` columns the template tables read."""


def mapping_path(layout: Layout) -> Path:
    return layout.root / TEMPLATES_DIR / "mapping.parquet"


def load_mapping(layout: Layout) -> pd.DataFrame:
    """(service, message, template_id, template) as last saved; no rows before the first."""
    path = mapping_path(layout)
    if not path.exists():
        return pd.DataFrame({c: pd.Series(dtype="str") for c in MAPPING_COLUMNS})
    frame = pq.read_table(path).to_pandas()
    return frame[MAPPING_COLUMNS].astype("str")


def save_mapping(layout: Layout, mapping: pd.DataFrame) -> None:
    """Writes the mapping atomically (after the tables built from it are published)."""
    write_parquet(mapping[MAPPING_COLUMNS].reset_index(drop=True), mapping_path(layout))


def read_vocabulary(layout: Layout) -> pd.DataFrame:
    """Every row of `log_messages_hourly`, all hours."""
    folder = layout.table_dir("log_messages_hourly")
    files = sorted(folder.glob(f"date=*/hour=*/{PART_FILE}")) if folder.exists() else []
    if not files:
        return empty_frame(LogMessagesHourly)
    columns = list(LogMessagesHourly.to_schema().columns)
    table = ds.dataset([str(f) for f in files], format="parquet").to_table(columns=columns)
    return table.to_pandas()


def read_templates(layout: Layout) -> pd.DataFrame:
    """Every row of `log_templates`, all days (a template may be first seen long before the
    hours that read it); one row per template, so this stays small."""
    folder = layout.table_dir("log_templates")
    files = sorted(folder.glob(f"date=*/{PART_FILE}")) if folder.exists() else []
    if not files:
        return empty_frame(LogTemplates)
    columns = list(LogTemplates.to_schema().columns)
    table = ds.dataset([str(f) for f in files], format="parquet").to_table(columns=columns)
    return table.to_pandas()


def read_events(layout: Layout, partition: str) -> pa.Table | None:
    """The columns of one `requests` hour the template tables read; None without a file."""
    path = layout.part_file("requests", partition)
    if not path.exists():
        return None
    names = pq.read_schema(path).names
    return pq.read_table(path, columns=[c for c in EVENT_COLUMNS if c in names])


def partitions_with_files(layout: Layout, table: str) -> list[str]:
    """The partitions of a table that have a file, in order."""
    folder = layout.table_dir(table)
    if not folder.exists():
        return []
    return sorted(p.parent.relative_to(folder).as_posix() for p in folder.rglob(PART_FILE))
