"""`logcast mute` and `logcast incident` as a user types them: the catalog rows they write and
the one-sentence errors."""

import subprocess

import pandas as pd
import pytest

from schemas.forecasts import Incident
from tests.helpers import LOGCAST, quiet_env
from transforms.incidents import incident_id
from warehouse.catalog import Catalog
from warehouse.layout import Layout, date_partition
from warehouse.storage import write_parquet

pytestmark = pytest.mark.e2e

START = pd.Timestamp("2026-11-03T14:00:00Z")


@pytest.fixture
def home(tmp_path):
    """A home whose warehouse holds one incident (checkout /pay from 14:00)."""
    home = tmp_path / "home"
    row = {
        "incident_id": incident_id("checkout", "/pay", START),
        "service": "checkout",
        "endpoint": "/pay",
        "start": START,
        "end": START + pd.Timedelta(hours=2),
        "hours": 2,
        "peak_severity": "high",
        "max_score": 0.99,
        "metrics": "requests",
        "probable_cause": "requests at 0.1x its forecast",
        "status": "open",
        "resolved_at": pd.NaT,
    }
    layout = Layout(home / "warehouse")
    frame = Incident.validate(pd.DataFrame([row]))
    write_parquet(frame, layout.part_file("incidents", date_partition(START)))
    return home


def logcast(home, *args):
    return subprocess.run(
        [LOGCAST, *args],
        env=quiet_env(LOGCAST_HOME=str(home)),
        cwd=home.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_mutes_are_added_listed_and_removed(home):
    done = logcast(
        home, "mute", "--service", "checkout", "--from", "2026-11-03T14:00",
        "--to", "2026-11-03T17:00+01:00", "--reason", "deploy 4.2",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == "added mute 1: checkout * 2026-11-03 14:00 to 16:00 UTC (deploy 4.2)\n"
    logcast(home, "mute", "--service", "auth", "--endpoint", "/login", "--from",
            "2026-11-04", "--to", "2026-11-05T06:00", "--reason", "migration")  # fmt: skip
    listed = logcast(home, "mute", "list")
    assert listed.stdout.splitlines() == [
        "mute 1: checkout * 2026-11-03 14:00 to 16:00 UTC (deploy 4.2)",
        "mute 2: auth /login 2026-11-04 00:00 to 2026-11-05 06:00 UTC (migration)",
    ]
    stored = Catalog(f"sqlite:///{home / 'catalog.db'}").mutes_frame()
    assert stored[["service", "endpoint", "reason"]].values.tolist() == [
        ["checkout", "*", "deploy 4.2"],
        ["auth", "/login", "migration"],
    ]
    assert stored["starts_at"].tolist()[0] == START
    assert logcast(home, "mute", "remove", "1").stdout == "removed mute 1\n"
    assert logcast(home, "mute", "list").stdout.splitlines() == [
        "mute 2: auth /login 2026-11-04 00:00 to 2026-11-05 06:00 UTC (migration)"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["mute", "--service", "s", "--from", "soon", "--to", "2026-11-03", "--reason", "r"],
            "logcast: error: mute --from: expected a time such as 2026-11-03T14:00 (UTC unless "
            "it names an offset), got 'soon'",
        ),
        (
            ["mute", "--service", "s", "--from", "2026-11-03T14:00", "--to", "2026-11-03T13:00",
             "--reason", "r"],
            "logcast: error: mute: --to (2026-11-03 13:00 UTC) must be after --from "
            "(2026-11-03 14:00 UTC)",
        ),
        (
            ["mute", "--service", "s"],
            "logcast: error: mute: expected --from, --to, --reason (or `mute list`, "
            "`mute remove ID`)",
        ),
        (
            ["mute", "remove", "9"],
            "logcast: error: mute remove: no mute has ID 9 (see `logcast mute list`)",
        ),
        (
            ["incident", "ack", "0123456789abcdef"],
            "logcast: error: incident ack: no incident has ID '0123456789abcdef' (the "
            "incidents table's incident_id, 16 hex digits)",
        ),
        (
            ["incident", "resolve", "x' OR 1=1 --"],
            "logcast: error: incident resolve: no incident has ID \"x' OR 1=1 --\" (the "
            "incidents table's incident_id, 16 hex digits)",
        ),
    ],
)  # fmt: skip
def test_bad_times_and_unknown_ids_are_one_sentence(home, args, message):
    done = logcast(home, *args)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [message]


def test_feedback_on_an_incident_is_recorded(home):
    key = incident_id("checkout", "/pay", START)
    done = logcast(home, "incident", "ack", key, "--note", "on it")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"incident {key} (checkout /pay) acked: on it\n"
    done = logcast(home, "incident", "false-alarm", key.upper())
    assert done.stdout == f"incident {key} (checkout /pay) marked a false alarm\n"
    said = Catalog(f"sqlite:///{home / 'catalog.db'}").feedback_frame()
    assert said[["incident_id", "action", "note"]].values.tolist() == [
        [key, "ack", "on it"],
        [key, "false-alarm", ""],
    ]
    assert str(said["at"].dt.tz) == "UTC"
