"""Serves the deployments of `prefect.yaml` from one process: `python -m deployments.serve`
(the same as `logcast serve`)."""

from flows.deploy import main

if __name__ == "__main__":
    main()
