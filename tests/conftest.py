"""Test-wide environment: no telemetry, a Prefect home of the tests' own, the hypothesis
profiles, the Prefect test server the flow tests share and the real Prefect server the
end-to-end tests share."""

import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Set before anything imports prefect: its settings are read when it is first imported.
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["GX_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="logcast-test-prefect-")
os.environ.pop("PREFECT_API_URL", None)
os.environ.pop("LOGCAST_CONFIG", None)
os.environ["LOGCAST_DAEMON"] = "off"  # the tests of flows.daemon turn it on for their commands

import pytest
from hypothesis import settings

# `ci` (what `make test` runs) keeps hypothesis' 100 examples, so a property test's own
# `max_examples=examples(n)` is n; `fast` (`make test-fast`) runs a tenth of them.
# --hypothesis-profile=NAME on the command line wins over HYPOTHESIS_PROFILE.
settings.register_profile("ci", max_examples=100)
settings.register_profile("fast", max_examples=10)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser):
    parser.addoption(
        "--clock-shift-days",
        type=int,
        default=0,
        metavar="DAYS",
        help="run the tests with this process's clock moved DAYS days (time-machine): no "
        "test may depend on today's date",
    )


def pytest_configure(config):
    days = config.getoption("--clock-shift-days")
    if days:
        import time_machine

        # tick: time goes on from the shifted instant, so timeouts and durations still work
        config.clock_shift = time_machine.travel(
            datetime.now(UTC) + timedelta(days=days), tick=True
        )
        config.clock_shift.start()


def pytest_unconfigure(config):
    if getattr(config, "clock_shift", None) is not None:
        config.clock_shift.stop()


def pytest_report_header(config):
    days = config.getoption("--clock-shift-days")
    return f"clock shifted by {days} days: today is {datetime.now(UTC):%Y-%m-%d}" if days else None


@pytest.fixture(autouse=True)
def _flows_run_on_the_harness(request):
    """Tests marked `flows` run on the session's Prefect test server (started by the first)."""
    if request.node.get_closest_marker("flows"):
        request.getfixturevalue("prefect_harness")


@pytest.fixture(scope="session")
def prefect_database(pytestconfig, tmp_path_factory):
    """The migrated Prefect database every test server starts on a copy of, kept in pytest's
    cache directory between runs (tests/server.py `migrated_database`)."""
    from tests.server import migrated_database

    cache = getattr(pytestconfig, "cache", None)
    folder = cache.mkdir("prefect-database") if cache else tmp_path_factory.getbasetemp()
    return migrated_database(Path(folder))


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory, prefect_database):
    """A real `prefect server start` on 127.0.0.1 (its own home and SQLite database), one per
    test process that runs an end-to-end test: they point their `logcast` and `prefect`
    commands at it."""
    from tests.server import started_prefect_server

    home = tmp_path_factory.mktemp("prefect-server-home")
    with started_prefect_server(home, database=prefect_database) as url:
        yield url


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory, prefect_database):
    """One Prefect server of their own (`prefect server start`, a SQLite database) per test
    process, shared by every test marked `flows`, whose flows run in the test process against
    it; started by the first of them, so a process (or a pytest-xdist worker) that runs none
    starts none. It is not the end-to-end tests' `prefect_server`: the events of the flow
    tests' runs would keep that server's database busy while an end-to-end test waits on it.
    Two things no test looks at are off: flow-run heartbeats (they detect crashed runs;
    stopping a run's heartbeat thread costs up to a second) and sending run logs to the server
    (it keeps the server busy on the same cores; the logs still reach pytest's capture)."""
    import prefect.context
    import prefect.settings
    from prefect.events.worker import EventsWorker

    from tests.server import started_prefect_server

    home = tmp_path_factory.mktemp("prefect-flows-home")
    with (
        started_prefect_server(home, database=prefect_database) as url,
        prefect.settings.temporary_settings(
            updates={
                prefect.settings.PREFECT_API_URL: url,
                prefect.settings.PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None,
                prefect.settings.PREFECT_LOGGING_TO_API_ENABLED: False,
            }
        ),
        # threads a test starts have no settings context of their own and read the global
        # one: it gets the same settings (what Prefect's own prefect_test_harness does)
        prefect.context._temporary_global_settings_context(prefect.context.get_settings_context()),
    ):
        yield url
        EventsWorker.drain_all()  # the runs' last events reach the server before it stops


def pytest_collection_modifyitems(config, items):
    """Modules with an e2e, slow or flows test run first. `make test` hands whole modules to its
    workers in collection order (`--no-loadscope-reorder`): the long ones starting first keeps
    both cores busy to the end instead of leaving a module of minutes for last."""
    heavy = {
        item.path
        for item in items
        if any(item.get_closest_marker(mark) for mark in ("e2e", "slow", "flows"))
    }
    items.sort(key=lambda item: item.path not in heavy)  # stable: the order within is kept


SHARED_PROCESS = {
    "tests/e2e/test_cli.py": "cli_home",
    "tests/e2e/test_report_in_browser.py": "cli_home",
    "tests/e2e/test_dashboard.py": "cli_home",
}
"""Modules that share a session fixture: pytest-xdist gives each group to one process, so the
fixture is built once."""


def pytest_xdist_make_scheduler(config, log):
    """`--dist loadfile`, except that the modules of one `SHARED_PROCESS` group go to the same
    worker as one unit."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SharedFixtureScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return SHARED_PROCESS.get(path, path)

    return SharedFixtureScheduling(config, log)
