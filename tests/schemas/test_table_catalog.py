"""The table catalog: every warehouse table has a model, a grain and a current reference page."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from flows.cli import main
from schemas.catalog import TABLES, table_spec, tables_markdown
from warehouse.layout import TABLES as LAID_OUT
from warehouse.layout import Layout
from warehouse.query import table_inventory
from warehouse.storage import write_parquet

DOCS = Path(__file__).resolve().parents[2] / "docs" / "tables.md"


def test_docs_tables_md_is_generated_from_the_models():
    assert DOCS.read_text() == tables_markdown(), "run `make docs` and commit docs/tables.md"


def test_every_stored_table_has_a_spec_and_the_grain_names_its_key():
    assert sorted(t.name for t in TABLES) == sorted(LAID_OUT)
    for spec in TABLES:
        unique = getattr(spec.model.Config, "unique", None) or []
        for column in unique:
            assert column in spec.grain, (spec.name, column)
        assert f"## `{spec.name}`" in DOCS.read_text()
        for column in spec.model.to_schema().columns:
            assert f"| `{column}` |" in DOCS.read_text()


def test_inventory_counts_rows_partitions_and_the_newest(tmp_path):
    layout = Layout(tmp_path)
    frame = pd.DataFrame({"x": [1, 2, 3]})
    for hour in ("2026-11-01T10:00Z", "2026-11-02T07:00Z"):
        write_parquet(frame, layout.hour_dir("forecasts", pd.Timestamp(hour)) / "part-0.parquet")
    write_parquet(
        frame.head(1), layout.date_dir("quarantine", pd.Timestamp("2026-11-01")) / "a.parquet"
    )
    write_parquet(
        frame.head(2), layout.date_dir("quarantine", pd.Timestamp("2026-11-01")) / "b.parquet"
    )
    inventory = table_inventory(tmp_path).set_index("table")
    assert inventory.loc["forecasts", "rows"] == 6
    assert inventory.loc["forecasts", "partitions"] == 2
    assert inventory.loc["forecasts", "newest_partition"] == "date=2026-11-02/hour=07"
    assert inventory.loc["quarantine", ["rows", "partitions", "files"]].tolist() == [3, 1, 2]
    assert inventory.loc["requests", "rows"] == 0 and inventory.loc["requests", "partitions"] == 0
    assert inventory.loc["anomalies", "grain"] == table_spec("anomalies").grain


def test_logcast_tables_prints_the_inventory(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LOGCAST_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    layout = Layout(tmp_path / "warehouse")
    hour = pd.Timestamp("2026-11-01T10:00Z")
    write_parquet(
        pd.DataFrame({"x": [1, 2]}), layout.hour_dir("endpoint_hourly", hour) / "part-0.parquet"
    )
    assert main(["tables", "--output", "json"]) == 0
    rows = {row["table"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["endpoint_hourly"]["rows"] == 2
    assert rows["endpoint_hourly"]["newest_partition"] == "date=2026-11-01/hour=10"
    assert set(rows) == {t.name for t in TABLES}
    assert main(["tables"]) == 0
    assert "endpoint_hourly" in capsys.readouterr().out
