"""The per-source endpoint summary (warehouse.sources): kinds of patterns, and what an
unreadable catalog or warehouse says."""

from __future__ import annotations

import pandas as pd
import pytest

from warehouse.sources import pattern_kind, source_endpoints


@pytest.mark.parametrize(
    ("endpoint", "kind"),
    [
        ("/api/v1/orders/{id}", "shape"),
        ("/blog/tags/{var}", "variety"),
        ("/users/{var}/orders/{id}", "shape+variety"),
        ("/tenants/{tenant}", "rule"),  # a placeholder an endpoint_rules entry wrote
        ("/api/v1/orders", None),
        ("{other}", None),
        ("{invalid}", None),
    ],
)
def test_pattern_kind(endpoint, kind):
    assert pattern_kind(endpoint) == kind


def test_a_missing_catalog_and_warehouse_read_as_empty(tmp_path):
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    assert source_endpoints(tmp_path / "warehouse", url) == []
    assert not (tmp_path / "catalog.db").exists()


def test_an_unreadable_catalog_or_partition_is_one_sentence(tmp_path):
    (tmp_path / "catalog.db").write_text("not a database, only text " * 10)
    with pytest.raises(
        ValueError, match=r"^could not read the catalog sqlite:///.*: file is not a database$"
    ):
        source_endpoints(tmp_path / "warehouse", f"sqlite:///{tmp_path / 'catalog.db'}")
    part = tmp_path / "warehouse" / "requests" / "date=2026-11-01" / "hour=01" / "part-0.parquet"
    part.parent.mkdir(parents=True)
    part.write_text("junk")
    with pytest.raises(
        ValueError, match=r"^could not read .*requests: .*too small to be a Parquet file"
    ):
        source_endpoints(tmp_path / "warehouse", "sqlite:///" + str(tmp_path / "none.db"))


def test_partitions_without_a_path_column_give_no_path_counts(tmp_path):
    part = tmp_path / "warehouse" / "requests" / "date=2026-11-01" / "hour=01" / "part-0.parquet"
    part.parent.mkdir(parents=True)
    frame = pd.DataFrame(
        {"source": ["api"] * 3, "endpoint": ["/a/{id}", "/a/{id}", "{other}"], "status_code": 200}
    )
    frame.to_parquet(part)
    (api,) = source_endpoints(tmp_path / "warehouse", f"sqlite:///{tmp_path / 'none.db'}")
    assert (api.rows, api.endpoints, api.other_rows, api.other_paths) == (3, 2, 1, None)
    assert api.patterns == [{"pattern": "/a/{id}", "kind": "shape", "rows": 2, "paths": None}]
