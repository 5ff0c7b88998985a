"""The deployments of deployments/prefect.yaml on a real Prefect server: deployed to a
`process` work pool and run by a worker, then served by `logcast serve`; runs triggered
through the REST API as the UI or a script would."""

import subprocess
import time
from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds
import pytest

from bench.processes import stop_process
from tests.helpers import BIN, api, logcast_runner, one_file_a_day, quiet_env

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def deployment(url: str, flow: str, name: str) -> dict:
    return api(url, f"/deployments/name/{flow}/{name}")


def run_deployment(url: str, flow: str, name: str, parameters: dict, timeout: float = 600):
    """Creates a flow run of the deployment through the API and waits for its final state."""
    found = deployment(url, flow, name)
    flow_run = api(url, f"/deployments/{found['id']}/create_flow_run", {"parameters": parameters})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = api(url, f"/flow_runs/{flow_run['id']}")
        if state["state_type"] in FINAL:
            return state
        time.sleep(1)
    raise AssertionError(f"{flow}/{name} did not finish in {timeout} s: {state['state_type']}")


def artifact_keys(url: str, flow_run_id: str) -> set[str]:
    found = api(url, "/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}})
    return {a["key"] for a in found if a["key"]}


class Process:
    def __init__(self, args: list[str], env: dict, log: Path):
        self.log = log
        self.handle = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            args, env=env, cwd=ROOT, stdout=self.handle, stderr=subprocess.STDOUT
        )

    def stop(self) -> None:
        stop_process(self.process)
        self.handle.close()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@pytest.fixture(scope="module")
def home(prefect_server, tmp_path_factory):
    home = tmp_path_factory.mktemp("deployed-home")
    # the worker and `logcast serve` look for runs every second (10 s by default)
    env = quiet_env(
        LOGCAST_HOME=str(home),
        PREFECT_API_URL=prefect_server,
        PREFECT_WORKER_QUERY_SECONDS="1",
        PREFECT_RUNNER_POLL_FREQUENCY="1",
    )
    logcast = logcast_runner(env, cwd=ROOT, timeout=600)
    logcast("generate", "--days", "2", "--endpoints", "3", "--end", "2026-11-02", "--seed", "5")
    one_file_a_day(home / "landing")
    deployed = logcast("deploy")  # creates the work pool, then deploys
    assert deployed.count("deployed logcast-") == 3
    worker = Process(
        [str(BIN / "prefect"), "worker", "start", "--pool", "logcast", "--limit", "1"],
        env,
        home / "worker.log",
    )
    yield home, env, worker
    worker.stop()


def test_prefect_yaml_deploys_three_deployments_on_the_process_pool(home, prefect_server):
    pool = api(prefect_server, "/work_pools/logcast")
    assert pool["type"] == "process"
    schedules = {}
    for flow, name in (
        ("logcast-hourly", "logcast-hourly"),
        ("logcast-daily", "logcast-daily"),
        ("logcast-backfill", "logcast-backfill"),
    ):
        found = deployment(prefect_server, flow, name)
        assert found["work_pool_name"] == "logcast"
        schedules[name] = [
            (s["schedule"]["cron"], s["schedule"]["timezone"]) for s in found["schedules"]
        ]
    assert schedules == {
        "logcast-hourly": [("5 * * * *", "UTC")],
        "logcast-daily": [("15 0 * * *", "UTC")],
        "logcast-backfill": [],
    }


def test_prefect_deploy_all_registers_every_deployment_of_prefect_yaml(home, prefect_server):
    """Prefect's own command, as its users type it, on the pool `logcast deploy` created; the
    worker test below then runs what it registered."""
    _, env, _ = home
    before = {
        name: deployment(prefect_server, name, name)["updated"]
        for name in ("logcast-hourly", "logcast-daily", "logcast-backfill")
    }
    done = subprocess.run(
        [str(BIN / "prefect"), "--no-prompt", "deploy", "--all"]
        + ["--prefect-file", "deployments/prefect.yaml"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for name, updated in before.items():
        assert f"Deployment '{name}/{name}' successfully" in " ".join(done.stdout.split())
        found = deployment(prefect_server, name, name)
        assert found["updated"] > updated and found["work_pool_name"] == "logcast"


def test_the_worker_runs_a_backfill_an_hourly_and_a_daily_run(home, prefect_server):
    home_dir, _, worker = home
    backfill = run_deployment(
        prefect_server,
        "logcast-backfill",
        "logcast-backfill",
        {"start": "2026-11-01", "end": "2026-11-02"},
    )
    assert backfill["state_type"] == "COMPLETED", worker.tail()
    forecasts = ds.dataset(home_dir / "warehouse" / "forecasts", partitioning="hive").to_table()
    hours = pd.Series(forecasts.column("hour_start").to_pandas()).dt.floor("D").unique()
    assert [str(d.date()) for d in sorted(hours)] == ["2026-11-02"]
    assert {"logcast-backfill-summary", "logcast-anomalies"} <= artifact_keys(
        prefect_server, backfill["id"]
    )

    hourly = run_deployment(
        prefect_server, "logcast-hourly", "logcast-hourly", {"hour": "2026-11-02T12:00:00Z"}
    )
    assert hourly["state_type"] == "COMPLETED", worker.tail()
    assert {"logcast-hourly-summary", "logcast-anomalies"} <= artifact_keys(
        prefect_server, hourly["id"]
    )

    daily = run_deployment(prefect_server, "logcast-daily", "logcast-daily", {"day": "2026-11-02"})
    assert daily["state_type"] == "COMPLETED", worker.tail()
    assert (home_dir / "models" / "date=2026-11-03" / "models.json").exists()
    assert "logcast-daily-summary" in artifact_keys(prefect_server, daily["id"])


def test_artifacts_read_back_with_artifact_get(home, prefect_server):
    """`prefect.artifacts.Artifact.get(key)`, the Python API a user reaches for, returns the
    newest artifact of a key (the daily run's summary, published above)."""
    _, env, _ = home
    done = subprocess.run(
        [str(BIN / "python"), "-c"]
        + [
            "from prefect.artifacts import Artifact\n"
            "found = Artifact.get('logcast-daily-summary')\n"
            "print(found.type, found.data.splitlines()[0])"
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "markdown # logcast daily: 2026-11-02 UTC"


def test_logcast_serve_serves_the_same_deployments(home, prefect_server):
    home_dir, env, worker = home
    worker.stop()  # from here on only the served process runs flows
    served = Process([str(BIN / "logcast"), "serve"], env, home_dir / "serve.log")
    try:
        deadline = time.monotonic() + 120
        while "being served" not in served.tail() and time.monotonic() < deadline:
            assert served.process.poll() is None, served.tail()
            time.sleep(1)
        for name in ("logcast-hourly", "logcast-daily", "logcast-backfill"):
            assert f"{name}/{name}" in served.tail()
        found = deployment(prefect_server, "logcast-hourly", "logcast-hourly")
        assert [s["schedule"]["cron"] for s in found["schedules"]] == ["5 * * * *"]
        hourly = run_deployment(
            prefect_server, "logcast-hourly", "logcast-hourly", {"hour": "2026-11-02T13:00:00Z"}
        )
        assert hourly["state_type"] == "COMPLETED", served.tail()
        assert "logcast-hourly-summary" in artifact_keys(prefect_server, hourly["id"])
    finally:
        served.stop()
