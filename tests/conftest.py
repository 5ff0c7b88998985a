"""Test-wide environment: no telemetry, and a Prefect home of the tests' own."""

import os
import tempfile

# Set before anything imports prefect: its settings are read when it is first imported.
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["GX_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="logcast-test-prefect-")
os.environ.pop("PREFECT_API_URL", None)
os.environ.pop("LOGCAST_CONFIG", None)
