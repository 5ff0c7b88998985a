"""The logcast deployments of `deployments/prefect.yaml`, served from one process
(`logcast serve`) or registered on a `process` work pool for workers (`logcast deploy`).

Both read the deployments, their schedules and descriptions from prefect.yaml, so the two
ways run the same thing. Both need a running Prefect server (`prefect server start`) and
`PREFECT_API_URL` pointing at it.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import yaml

PREFECT_YAML = Path(__file__).resolve().parent.parent / "deployments" / "prefect.yaml"


def definitions(path: Path = PREFECT_YAML) -> list[dict[str, Any]]:
    """The deployments of prefect.yaml: name, entrypoint, description, tags, schedules,
    work pool."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return list(document["deployments"])


def _flow(entrypoint: str):
    module_path, name = entrypoint.split(":")
    module = importlib.import_module(module_path.removesuffix(".py").replace("/", "."))
    return getattr(module, name)


def deployments(path: Path = PREFECT_YAML, *, work_pool: str | None = None) -> list:
    """RunnerDeployments of the flows in prefect.yaml (on `work_pool` when given)."""
    from prefect.schedules import Cron

    out = []
    for spec in definitions(path):
        schedules = [
            Cron(s["cron"], timezone=s.get("timezone", "UTC")) for s in spec.get("schedules", [])
        ]
        out.append(
            _flow(spec["entrypoint"]).to_deployment(
                name=spec["name"],
                description=spec.get("description"),
                tags=spec.get("tags", []),
                schedules=schedules or None,
                parameters=spec.get("parameters") or {},
                work_pool_name=work_pool,
            )
        )
    return out


def default_pool(path: Path = PREFECT_YAML) -> str:
    pools = {spec.get("work_pool", {}).get("name") for spec in definitions(path)}
    pools.discard(None)
    return sorted(pools)[0] if pools else "logcast"


def deploy(pool: str | None = None, path: Path = PREFECT_YAML) -> list[str]:
    """Creates the `process` work pool when missing and registers the deployments on it;
    returns their names. Workers started with `prefect worker start --pool POOL` in this
    project's directory then run them."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    pool = pool or default_pool(path)
    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(pool)
        except ObjectNotFound:
            client.create_work_pool(
                WorkPoolCreate(
                    name=pool,
                    type="process",
                    base_job_template=ProcessWorker.get_default_base_job_template(),
                )
            )
    names = []
    root = path.resolve().parent.parent  # the project: entrypoints are relative to it
    for deployment, spec in zip(deployments(path, work_pool=pool), definitions(path), strict=True):
        # as `prefect deploy` does: runs start in the project's directory
        deployment.entrypoint = spec["entrypoint"]
        deployment.job_variables = {
            **spec.get("work_pool", {}).get("job_variables", {}),
            "working_dir": str(root),
        }
        deployment.apply(work_pool_name=pool)
        names.append(f"{deployment.flow_name}/{deployment.name}")
    return names


def main() -> None:
    from prefect import serve

    serve(*deployments())
