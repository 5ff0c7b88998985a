"""The warehouse the CLI and report tests share, built through the CLI against the session's
real `prefect server start` (`prefect_server`, in tests/conftest.py)."""

import pytest

from tests.helpers import CLI_DAY, logcast_runner, one_file_a_day, quiet_env


@pytest.fixture(scope="session")
def cli_home(prefect_server, tmp_path_factory):
    """One warehouse built through the CLI as a user types it, shared by the CLI and report
    tests (`tests/conftest.py` gives their modules to the same process): four generated days of
    four endpoints, landed as one file a day, backfilled (models fitted on the first days
    score the last ones; the generator injects incidents from the third day on), one hourly
    run and the last day's daily run. Returns the home and a `logcast` runner on it."""
    home = tmp_path_factory.mktemp("cli-home")
    logcast = logcast_runner(
        quiet_env(LOGCAST_HOME=str(home), PREFECT_API_URL=prefect_server), cwd=home
    )
    logcast("generate", "--days", "4", "--endpoints", "4", "--end", CLI_DAY, "--seed", "3")
    one_file_a_day(home / "landing")  # as a daily log rotation leaves them
    logcast("backfill", "--start", "2026-11-05", "--end", CLI_DAY)
    logcast("run", "--hour", f"{CLI_DAY}T12:00Z")
    logcast("daily", "--day", CLI_DAY)
    return home, logcast
