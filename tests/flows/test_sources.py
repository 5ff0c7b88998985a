"""Variety folding through a real ingest (catalog state, order of files) and `logcast sources`
over the warehouse it builds (flows.cli, no Prefect run: files are ingested and compacted as
a flow's tasks do)."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.dataset as ds
import pytest
import sqlalchemy as sa

from flows.cli import main
from flows.compute import compact_pending
from flows.ingest import catalog_for, ingest_file
from flows.settings import load_settings

pytestmark = pytest.mark.clock

AS_OF = pd.Timestamp("2026-11-23T00:00:00Z")
CONFIG = """
home = "{home}"
[sources.blog]
paths = ["blog/*"]
fold_variety = 3
"""


def line(second: int, path: str, status: int = 200) -> str:
    return (
        f'203.0.113.7 - - [22/Nov/2026:05:30:{second:02d} +0000] "GET {path} HTTP/1.1" '
        f'{status} 512 "-" "curl/8.0"'
    )


FIRST = [  # three tags (the limit), two fixed routes, an id, a response to no request
    "/blog/tags/kittens",
    "/blog/tags/kittens?page=2",
    "/blog/tags/rust",
    "/blog/tags/boredom-induced-research",
    "/api/v1/users",
    "/api/v1/orders/42",
    "/api/v1/orders/43",
    "/about",
]
SECOND = ["/blog/tags/python", "/blog/tags/kittens", "/api/v1/users"]  # a fourth tag


def landing(tmp_path, name: str, extra: str = "") -> tuple:
    home = tmp_path / name
    config = tmp_path / f"{name}.toml"
    config.write_text(CONFIG.format(home=home) + extra)
    settings = load_settings(environ={}, config_file=config)
    for file, paths in (("first.log", FIRST), ("second.log", SECOND)):
        path = settings.landing_dir / "blog" / file
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [line(k, p) for k, p in enumerate(paths)]
        if file == "first.log":
            lines.append('203.0.113.7 - - [22/Nov/2026:05:31:00 +0000] "-" 408 0 "-" "-"')
        path.write_text("\n".join(lines) + "\n")
    return settings, config


def ingest(settings, *names: str) -> list:
    outcomes = [
        ingest_file(settings.landing_dir / "blog" / n, settings=settings, as_of=AS_OF)
        for n in names
    ]
    compact_pending(settings=settings, run_id="test")
    return outcomes


def endpoints_by_file(settings) -> dict[str, list[str]]:
    """The endpoints of each landing file's rows in `requests`, by file name."""
    frame = ds.dataset(settings.warehouse_dir / "requests", partitioning="hive").to_table()
    engine = catalog_for(settings.catalog_url).engine
    with engine.connect() as conn:
        names = {
            r.file_id: r.path for r in conn.execute(sa.text("SELECT file_id, path FROM files"))
        }
    return {
        names[fid].rsplit("/", 1)[-1]: sorted(group["endpoint"])
        for fid, group in frame.to_pandas().groupby("file_id")
    }


def test_a_parent_folds_once_its_values_pass_the_limit_over_files_in_either_order(tmp_path):
    forward, _ = landing(tmp_path, "forward")
    first, second = ingest(forward, "first.log", "second.log")
    assert not any(n.startswith("endpoints folded") for n in first.notes)
    assert (
        "endpoints folded by variety for source 'blog': /blog/tags/{var} "
        "(more than 3 distinct values under the same parent)"
    ) in second.notes
    catalog = catalog_for(forward.catalog_url)
    after = catalog.seen_endpoints("blog")
    assert after == {
        "/blog/tags/{var}",
        "/api/v1/users",
        "/api/v1/orders/{id}",
        "/about",
        "{invalid}",
    }
    # the tags admitted by the first file left the cap: they get no new rows
    assert catalog.known_endpoints("blog") == after
    # the first file's rows keep the names they were given; the second file's are folded
    assert endpoints_by_file(forward) == {
        "first.log": sorted(
            ["/blog/tags/kittens"] * 2
            + ["/blog/tags/rust", "/blog/tags/boredom-induced-research", "/api/v1/users"]
            + ["/api/v1/orders/{id}"] * 2
            + ["/about", "{invalid}"]
        ),
        "second.log": ["/api/v1/users", "/blog/tags/{var}", "/blog/tags/{var}"],
    }

    backward, _ = landing(tmp_path, "backward")
    ingest(backward, "second.log", "first.log")
    assert catalog_for(backward.catalog_url).seen_endpoints("blog") == after
    # the file that came second sees the fold of both: it is folded whole
    assert endpoints_by_file(backward)["first.log"] == sorted(
        ["/blog/tags/{var}"] * 4
        + ["/api/v1/users", "/api/v1/orders/{id}", "/api/v1/orders/{id}", "/about", "{invalid}"]
    )


def test_logcast_sources_shows_admitted_endpoints_folded_patterns_and_other(
    tmp_path, monkeypatch, capsys
):
    # a cap of 5: the first file's rarest, /blog/tags/rust and {invalid}, go to {other}; the
    # tag still counts towards its parent's variety, which the second file's tag passes
    settings, config = landing(tmp_path, "home", "max_endpoints = 5\n")
    ingest(settings, "first.log", "second.log")
    monkeypatch.setenv("LOGCAST_CONFIG", str(config))

    assert main(["sources", "--output", "json"]) == 0
    (blog,) = json.loads(capsys.readouterr().out)
    assert blog == {
        "source": "blog",
        "files": 2,
        "formats": "combined (2)",
        "rows": 12,
        "endpoints": 7,
        "admitted": 4,
        "max_endpoints": 5,
        "fold_variety": 3,
        "other_rows": 2,
        "other_paths": 1,
        "patterns": [
            {"pattern": "/api/v1/orders/{id}", "kind": "shape", "rows": 2, "paths": 2},
            {"pattern": "/blog/tags/{var}", "kind": "variety", "rows": 2, "paths": 2},
        ],
    }

    assert main(["sources"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == [
        "source",
        "files",
        "formats",
        "rows",
        "endpoints",
        "admitted",
        "max_endpoints",
        "fold_variety",
        "other_rows",
        "other_paths",
    ]
    assert out[1].split() == ["blog", "2", "combined", "(2)", "12", "7", "4", "5", "3", "2", "1"]
    assert out[3] == "blog: 2 folded patterns"
    assert [r.split() for r in out[5:]] == [
        ["/api/v1/orders/{id}", "shape", "2", "2"],
        ["/blog/tags/{var}", "variety", "2", "2"],
    ]


def test_logcast_sources_on_an_empty_home_lists_configured_sources_only(
    tmp_path, monkeypatch, capsys
):
    config = tmp_path / "logcast.toml"
    config.write_text(CONFIG.format(home=tmp_path / "home") + "max_endpoints = 7\n")
    monkeypatch.setenv("LOGCAST_CONFIG", str(config))
    assert main(["sources", "--output", "json"]) == 0
    (blog,) = json.loads(capsys.readouterr().out)
    assert blog["rows"] == 0 and blog["max_endpoints"] == 7 and blog["patterns"] == []
    assert not (tmp_path / "home" / "catalog.db").exists()  # a reader creates nothing
