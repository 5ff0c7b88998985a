"""Python `logging` layouts as events:

    2003-07-08 16:49:45,896 - simple_example - WARNING - warn message

The service is the logger name (`%(name)s`). Read: `%(asctime)s - %(name)s - %(levelname)s -
%(message)s` (the logging cookbook's), `%(asctime)s %(levelname)s:%(name)s:%(message)s` (with a
space or a colon after the time), `%(asctime)s %(process)d %(levelname)s %(name)s %(message)s`
(OpenStack's oslo.log), gunicorn's error log (`[%(asctime)s] [%(process)d] [%(levelname)s]
%(message)s`, its `gunicorn.error` logger as the service), Celery's worker (`[%(asctime)s:
%(levelname)s/%(processName)s] %(message)s`, the process as the service) and the default `%(levelname)s:%(name)s:%(message)s`, which logs no
time: its events are quarantined with a reason saying to add `%(asctime)s`."""

from __future__ import annotations

import re

import pandas as pd

from transforms.formats.attributes import COLUMN_PREFIX
from transforms.formats.layouts.core import Layout, iso_time

LEVEL = r"(?:CRITICAL|FATAL|ERROR|WARNING|WARN|INFO|DEBUG|NOTSET)"
ASCTIME = r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[,.]\d{1,6})?(?:Z|[+-]\d{2}:?\d{2})?"
NAME = r"[\w.\-]+"
GUNICORN_TIME = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?: [+-]\d{4})?"
"""gunicorn's `[%Y-%m-%d %H:%M:%S %z]`."""
HEADER = re.compile(
    r"(?:"
    rf"(?P<ts>{ASCTIME}) - (?P<service>[^\s].*?) - (?P<level>{LEVEL}) - "
    rf"|(?P<ts__b>{ASCTIME})[ :](?P<level__b>{LEVEL}):(?P<service__b>[^:\s]*):"
    rf"|(?P<ts__c>{ASCTIME}) (?P<pid>\d+) (?P<level__c>{LEVEL}) (?P<service__c>{NAME}) "
    rf"|(?P<level__d>{LEVEL}):(?P<service__d>[^:\s]*):"
    # gunicorn's error log: [%(asctime)s] [%(process)d] [%(levelname)s] %(message)s
    rf"|\[(?P<ts__e>{GUNICORN_TIME})\] \[(?P<pid__e>\d+)\] \[(?P<level__e>{LEVEL})\] "
    # Celery's worker: [%(asctime)s: %(levelname)s/%(processName)s] %(message)s
    rf"|\[(?P<ts__f>{ASCTIME}): (?P<level__f>{LEVEL})/(?P<service__f>[^\]]+)\] "
    r")(?P<message>.*)$",
    re.DOTALL,
)

NO_TIME = (
    "python logging's default format (%(levelname)s:%(name)s:%(message)s) logs no time: "
    "add %(asctime)s to the handler's format, e.g. '%(asctime)s %(levelname)s:%(name)s:"
    "%(message)s'"
)


def _finish(records: pd.DataFrame) -> pd.DataFrame:
    """A line of the default format logs no time: said so where the time would be. gunicorn's
    error log names no logger: its lines are those of its `gunicorn.error` logger."""
    records["timestamp"] = records["timestamp"].fillna("(none logged)")
    pid = f"{COLUMN_PREFIX}pid"
    if pid in records:
        gunicorn = records["service"].isna() & records[pid].notna()
        records.loc[gunicorn, "service"] = "gunicorn.error"
    return records


def python_time(text: pd.Series, as_of: pd.Timestamp | None = None) -> pd.Series:
    return iso_time(text, as_of)


PYTHON = Layout(
    "python",
    HEADER,
    python_time,
    "'<asctime> - <name> - <LEVEL> - <message>' or '<LEVEL>:<name>:<message>' "
    "(a Python logging format)",
    time_what=f"a timestamp: {NO_TIME}",
    finish=_finish,
)

FORMATS = [
    PYTHON.format(
        "Python logging: <asctime> - <name> - <LEVEL> - <message>, <LEVEL>:<name>:<message>"
    )
]
