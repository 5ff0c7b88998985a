"""Android logcat's `threadtime` output (`adb logcat -v threadtime`) as events:

    03-17 16:13:38.811  1702  2395 D WindowManager: printFreezingDisplayLogs opening app

The service is the tag (it may hold spaces); pid and tid are attributes. Levels are logcat's
letters (V is TRACE, F and A are CRITICAL). The time has no year: it is inferred from the
ingest time."""

from __future__ import annotations

import re

from transforms.formats.layouts.core import Layout, yearless_time
from transforms.formats.layouts.levels import level_letters_or_words

LOGCAT = Layout(
    "logcat",
    re.compile(
        r"(?P<ts>\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3})\s+(?P<pid>\d+)\s+(?P<tid>\d+)"
        r" (?P<level>[VDIWEFA]) (?P<service>[^:]*?)\s*:(?: (?P<message>.*))?$",
        re.DOTALL,
    ),
    yearless_time("%m-%d %H:%M:%S.%f"),
    "'<mm-dd hh:mm:ss.mmm> <pid> <tid> <L> <tag>: <message>' (logcat threadtime)",
    time_what="a timestamp (mm-dd hh:mm:ss.mmm)",
    level=level_letters_or_words,
)

FORMATS = [LOGCAT.format("Android logcat threadtime: mm-dd hh:mm:ss.mmm pid tid L tag: message")]
