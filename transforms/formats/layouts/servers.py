"""Web servers' error logs as events (Apache httpd 2.2 and 2.4, nginx):

    [Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 35708:tid 4328636416] [client 1.2.3.4:5] AH00124: Request exceeded the limit
    2024/05/26 11:42:52 [error] 31#31: *1 open() "/usr/share/nginx/html/x" failed (2: No such file or directory), client: 10.0.0.1

The service is the server (`httpd`, `nginx`): these logs name no other writer; Apache's module
(2.4), pid, thread and client, and nginx's pid, thread and connection are attributes. Levels
are the servers' words (notice is INFO, crit, alert and emerg are CRITICAL, trace1-8 TRACE).
Times are local to the server and read as UTC, as every naive time is."""

from __future__ import annotations

import re

import pandas as pd

from transforms.formats.layouts.core import Layout, strptime_time

APACHE = re.compile(
    r"\[(?P<ts>[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}(?:\.\d{1,6})? \d{4})\]"
    r" \[(?:(?P<module>[\w\-]*):)?(?P<level>[a-z]+\d?)\]"
    r"(?: \[pid (?P<pid>\d+)(?::tid (?P<tid>\d+))?\])?"
    r"(?: \[client (?P<client>[^\]]+)\])?"
    r"(?: (?P<message>.*))?$",
    re.DOTALL,
)
NGINX = re.compile(
    r"(?P<ts>\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}) \[(?P<level>[a-z]+)\]"
    r" (?P<pid>\d+)#(?P<tid>\d+): (?:\*(?P<connection>\d+) )?(?P<message>.*)$",
    re.DOTALL,
)


def _server(name: str):
    def finish(records: pd.DataFrame) -> pd.DataFrame:
        records["service"] = pd.Series(name, index=records.index, dtype="str")
        return records

    return finish


APACHE_ERROR = Layout(
    "apache_error",
    APACHE,
    strptime_time("%a %b %d %H:%M:%S.%f %Y", "%a %b %d %H:%M:%S %Y"),
    "'[<Www Mmm dd hh:mm:ss yyyy>] [<module>:<level>] ... <message>' (Apache error log)",
    time_what="a timestamp (Www Mmm dd hh:mm:ss[.uuuuuu] yyyy)",
    finish=_server("httpd"),
)
NGINX_ERROR = Layout(
    "nginx_error",
    NGINX,
    strptime_time("%Y/%m/%d %H:%M:%S"),
    "'<yyyy/mm/dd hh:mm:ss> [<level>] <pid>#<tid>: <message>' (nginx error log)",
    time_what="a timestamp (yyyy/mm/dd hh:mm:ss)",
    finish=_server("nginx"),
)

FORMATS = [
    APACHE_ERROR.format(
        "Apache httpd error log: [Www Mmm dd hh:mm:ss yyyy] [module:level] message"
    ),
    NGINX_ERROR.format("nginx error log: yyyy/mm/dd hh:mm:ss [level] pid#tid: message"),
]
