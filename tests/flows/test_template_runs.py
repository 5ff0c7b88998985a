"""Template tables through ingest, compaction and the hourly pass: the same events in files of
any grouping, ingested in any order, give the tables of one backfill; template ids survive a
restart and a re-mining from scratch; and (Prefect) two hourly ingests equal one backfill."""

import shutil
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.compute import compact_pending, rebuild_hours
from flows.ingest import catalog_for, ingest_file
from flows.settings import load_settings
from flows.templates import changed_messages, remine
from tests.helpers import examples, warehouse_tables
from warehouse.layout import Layout
from warehouse.templates import load_mapping, mapping_path

pytestmark = pytest.mark.clock

AS_OF = pd.Timestamp("2024-05-27T00:00:00Z")
T0 = pd.Timestamp("2024-05-26T10:00:00Z")
ORDERS = {
    "log_templates": "service, template_id",
    "log_templates_minutely": "minute_start, service, template_id, level",
    "log_messages_hourly": "hour_start, service, message",
}
TEMPLATES = [
    "payment failed for order {v}",
    "user {w} logged in from 10.0.{v}.1",
    "user {w} logged out",
    "cache {w} warmed in {v}ms",
    "job {v} finished",
    "job {w} {w} finished",
]
WORDS = ["alice", "bob", "carol", "dave"]


def line(minute: int, service: str, level: str, template: int, value: int, word: int) -> str:
    ts = T0 + pd.Timedelta(minutes=minute, seconds=value % 60)
    text = TEMPLATES[template].format(v=value, w=WORDS[word])
    return f"{ts:%Y-%m-%dT%H:%M:%SZ} {level} {service} {text}"


def home(root, name):
    return load_settings(environ={"LOGCAST_HOME": str(root / name)}, config_file=root / "none.toml")


def run(settings, files: list[list[str]], names: list[str]) -> None:
    """Each file ingested then its dirty hours rebuilt, as one hourly run each."""
    for lines, name in zip(files, names, strict=True):
        path = settings.landing_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")
        ingest_file(path, settings=settings, fmt="servicelog", as_of=AS_OF)
        compact_pending(settings=settings, run_id=name)
        rebuild_hours(
            catalog_for(settings.catalog_url).dirty_hours(), settings=settings, run_id=name
        )


def tables(settings) -> dict[str, pd.DataFrame]:
    return warehouse_tables(settings.warehouse_dir, ORDERS, partition_columns=False)


event = st.tuples(
    st.integers(0, 179),
    st.sampled_from(["checkout", "auth"]),
    st.sampled_from(["INFO", "ERROR"]),
    st.integers(0, len(TEMPLATES) - 1),
    st.integers(0, 500),
    st.integers(0, len(WORDS) - 1),
)


@pytest.mark.slow
@settings(max_examples=examples(10), deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(event, min_size=1, max_size=40), st.randoms(use_true_random=False))
def test_files_in_any_grouping_and_order_give_the_tables_of_one_backfill(
    tmp_path_factory, rows, rng
):
    root = tmp_path_factory.mktemp("templates")
    lines = [line(*row) for row in rows]
    run(home(root, "backfill"), [lines], ["all.log"])
    expected = tables(home(root, "backfill"))
    # the same lines split into 1 to 4 files, each ingested in a run of its own, in any order
    groups = rng.randint(1, 4)
    files: list[list[str]] = [[] for _ in range(groups)]
    for text in lines:
        files[rng.randrange(groups)].append(text)
    order = list(range(groups))
    rng.shuffle(order)
    files = [files[i] for i in order if files[i]]
    run(home(root, "hourly"), files, [f"part-{i}.log" for i in range(len(files))])
    got = tables(home(root, "hourly"))
    assert set(got) == set(expected)
    for name in expected:
        pd.testing.assert_frame_equal(got[name], expected[name], obj=name)


@pytest.mark.slow
def test_template_ids_survive_a_restart_and_a_re_mining_from_scratch(tmp_path):
    settings = home(tmp_path, "home")
    first = [line(m, "checkout", "ERROR", 0, 100 + m, 0) for m in range(0, 30, 5)]
    first += [line(m, "checkout", "INFO", 1, m, m % 4) for m in range(2, 30, 7)]
    run(settings, [first], ["a.log"])
    assert mapping_path(Layout(settings.warehouse_dir)).exists()
    ids = tables(settings)["log_templates"].set_index("template")["template_id"]

    restarted = home(tmp_path, "home")  # a new process: settings and state read again
    later = [line(m, "checkout", "ERROR", 0, 900 + m, 0) for m in range(70, 100, 10)]
    run(restarted, [later], ["b.log"])
    again = tables(restarted)["log_templates"].set_index("template")["template_id"]
    assert again.loc[ids.index].tolist() == ids.tolist()
    mapping = load_mapping(Layout(restarted.warehouse_dir))
    assert set(mapping["template_id"]) == set(again)

    # the template tables and the saved mapping gone: re-mined from requests, same ids
    for name in ["log_templates", "log_templates_minutely", "log_messages_hourly", "_templates"]:
        shutil.rmtree(restarted.warehouse_dir / name)
    hours = [T0, T0 + pd.Timedelta(hours=1)]
    rebuild_hours(hours, settings=restarted, run_id="again")
    rebuilt = tables(restarted)["log_templates"].set_index("template")["template_id"]
    assert rebuilt.sort_index().equals(again.sort_index())


def test_only_services_whose_vocabulary_changed_are_mined_again_and_moves_are_found():
    first = pd.DataFrame(
        {"service": ["a", "b", "b"], "message": ["user bob out", "job <NUM> done", "x"]}
    )
    mapping = remine(first, load_mapping(Layout(Path("/nonexistent"))))
    assert set(changed_messages(mapping, mapping.iloc[:0]).itertuples(index=False)) == {
        ("a", "user bob out"), ("b", "job <NUM> done"), ("b", "x")
    }  # fmt: skip
    kept = mapping[mapping["service"] == "b"].assign(template_id="kept")  # as saved before
    previous = pd.concat([mapping[mapping["service"] == "a"], kept], ignore_index=True)
    more = pd.concat([first, pd.DataFrame({"service": ["a"], "message": ["user eve out"]})])
    again = remine(more, previous)
    assert (again.loc[again["service"] == "b", "template_id"] == "kept").all()  # not re-mined
    assert set(again.loc[again["service"] == "a", "template"]) == {"user <*> out"}
    moved = changed_messages(again, previous)
    assert set(moved.itertuples(index=False)) == {("a", "user bob out"), ("a", "user eve out")}


HOUR_11 = [
    "2024-05-26T11:42:52Z ERROR checkout payment failed for order 123",
    "2024-05-26T11:43:10Z ERROR checkout payment failed for order 124",
    "2024-05-26T11:44:00Z INFO checkout user bob logged in from 10.0.0.1",
    "2024-05-26T11:59:59Z INFO auth token 550e8400-e29b-41d4-a716-446655440000 refreshed",
]
HOUR_12 = [
    "2024-05-26T12:00:05Z INFO checkout user alice logged in from 10.0.0.2",
    "2024-05-26T12:10:00Z WARNING checkout payment failed for order 9",
    "2024-05-26T12:11:00Z INFO auth token 6ba7b810-9dad-11d1-80b4-00c04fd430c8 refreshed",
]


@pytest.mark.flows
def test_two_hourly_ingests_give_the_template_tables_of_one_backfill(tmp_path, monkeypatch):
    from flows.pipeline import backfill, ingest

    as_of = pd.Timestamp("2024-05-27T00:20:00Z").to_pydatetime()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOGCAST_HOME", str(tmp_path / "hourly"))
    hourly = load_settings()
    hourly.landing_dir.mkdir(parents=True)
    for name, lines in (("11.log", HOUR_11), ("12.log", HOUR_12)):
        (hourly.landing_dir / name).write_text("\n".join(lines) + "\n")
        ingest(as_of=as_of)  # the new file only, then its dirty hours
    monkeypatch.setenv("LOGCAST_HOME", str(tmp_path / "backfill"))
    once = load_settings()
    once.landing_dir.mkdir(parents=True)
    for name, lines in (("11.log", HOUR_11), ("12.log", HOUR_12)):
        (once.landing_dir / name).write_text("\n".join(lines) + "\n")
    backfill(start=T0.date(), end=T0.date(), as_of=as_of)

    got, expected = tables(hourly), tables(once)
    for name in ORDERS:
        pd.testing.assert_frame_equal(got[name], expected[name], obj=name)
    templates = expected["log_templates"]
    assert sorted(templates["template"]) == [
        "payment failed for order <NUM>",
        "token <UUID> refreshed",
        "user <*> logged in from <IP>",
    ]
    login = templates[templates["template"] == "user <*> logged in from <IP>"].iloc[0]
    minutely = expected["log_templates_minutely"]
    assert (minutely["template_id"] == login["template_id"]).sum() == 2  # 11:44 and 12:00
    assert set(minutely["template_id"]) == set(templates["template_id"])
