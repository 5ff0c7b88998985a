"""Application and system log layouts read as service-log events (a level, a service, a
message): log4j/logback, Python logging, syslog, the systemd journal, klog, logfmt, zap,
Android logcat, Apache and nginx error logs, and user-given grok or log4j patterns."""

from transforms.formats.layouts import (
    android,
    apps,
    golang,
    java,
    journald,
    python,
    ruby,
    servers,
    syslog,
)
from transforms.formats.layouts.core import Layout, parse_layout
from transforms.formats.layouts.pattern import (
    LOG4J_PREFIX,
    PATTERN_PREFIX,
    log4j_format,
    log4j_to_grok,
    pattern_format,
)

FORMATS = [
    *java.FORMATS,
    *python.FORMATS,
    *ruby.FORMATS,
    *syslog.FORMATS,
    *journald.FORMATS,
    *golang.FORMATS,
    *android.FORMATS,
    *servers.FORMATS,
    *apps.FORMATS,
]

__all__ = [
    "FORMATS",
    "LOG4J_PREFIX",
    "PATTERN_PREFIX",
    "Layout",
    "log4j_format",
    "log4j_to_grok",
    "parse_layout",
    "pattern_format",
]
