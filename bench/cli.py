"""How fast the `logcast` command answers: wall time of `--help`, `query`, `tables` and
`sources` in a
fresh process each (best of 5), against the bare interpreter starting in the same run, and
which heavy libraries each command loads (none of Prefect, Prophet, scipy or Great
Expectations should be).

The warehouse is 7 days of 24 hours (500 requests an hour, 20 endpoints) built by the real
transforms: `requests`, `endpoint_hourly`, `latency_sketches` and `endpoint_daily`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.metrics import build_warehouse

REPEATS = 5
HEAVY = ("prefect", "prophet", "scipy", "great_expectations", "cmdstanpy")
COMMANDS = (
    ("logcast --help", ["--help"], 0.3),
    ('logcast query "select 1"', ["query", "select 1"], 1.0),
    (
        "logcast query (p95 per endpoint, endpoint_daily)",
        ["query", "select endpoint, max(latency_p95_ms) from endpoint_daily group by 1"],
        1.0,
    ),
    ("logcast tables", ["tables"], 1.5),
    ("logcast sources", ["sources"], 1.5),
)
PROBE = (
    "import sys\n"
    "from flows.cli import main\n"
    "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
    f"print(','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
)


def _best(argv: list[str], env: dict[str, str]) -> float:
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        subprocess.run(argv, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="logcast-bench-cli-"))
    try:
        build_warehouse(folder / "home" / "warehouse", days=7, per_hour=500, endpoints=20)
        env = {**os.environ, "LOGCAST_HOME": str(folder / "home"), "DO_NOT_TRACK": "1"}
        env.pop("LOGCAST_CONFIG", None)
        logcast = str(Path(sys.executable).with_name("logcast"))
        interpreter = _best([sys.executable, "-c", "pass"], env)
        print(
            f"\nlogcast command start-up, best of {REPEATS} fresh processes; the bare "
            f"interpreter starts in {interpreter:.3f} s"
        )
        print(f"{'command':<50} {'seconds':>8} {'target':>7} {'vs python':>10}  heavy imports")
        for label, args, target in COMMANDS:
            seconds = _best([logcast, *args], env)
            probe = subprocess.run(
                [sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True
            )
            heavy = probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else ""
            print(
                f"{label:<50} {seconds:8.3f} {'<' + str(target):>7} "
                f"{seconds / interpreter:10.1f}  {heavy or 'none'}"
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
