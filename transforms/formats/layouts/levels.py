"""Log levels of the layouts, folded onto the one level set (`servicelog.LEVELS`): level words
with their aliases, the single letters some layouts write, and syslog's numeric severities.
Numbers mean different things per layout (syslog's 0-7, pino's 10-60), so each layout says
which kind it writes."""

from __future__ import annotations

import pandas as pd

from transforms.formats.base import as_text
from transforms.formats.servicelog import LEVEL_ALIASES

WORDS = {
    **LEVEL_ALIASES,
    "NOTICE": "INFO",  # syslog notice: normal but significant; the level set has nothing between
    "EMERG": "CRITICAL",
    "EMERGENCY": "CRITICAL",
    "ALERT": "CRITICAL",
    "ERRO": "ERROR",  # logrus' four-letter text levels
    "WARNI": "WARNING",
    "FINE": "DEBUG",  # java.util.logging
    "CONFIG": "DEBUG",
    "FINER": "TRACE",
    "FINEST": "TRACE",
    "DBG": "DEBUG",
    "INF": "INFO",
    "WRN": "WARNING",
    "EROR": "ERROR",
    "NOTSET": "DEBUG",
    "FTL": "CRITICAL",  # NATS, zerolog's console writer
    "TRC": "TRACE",
    "LOG": "INFO",  # PostgreSQL: information of interest to administrators
    "NOTE": "INFO",  # MySQL
    **{f"DEBUG{k}": "DEBUG" for k in range(1, 6)},  # PostgreSQL
    **{f"TRACE{k}": "TRACE" for k in range(1, 9)},  # Apache 2.4's trace1..trace8
}
"""Level words (upper case) to the level set; NOTICE is INFO (the set keeps Python's names)."""

SECONDARY_FIELDS = frozenset({"DETAIL", "HINT", "QUERY", "CONTEXT", "LOCATION", "STATEMENT"})
"""PostgreSQL's secondary fields of a message: it writes each on a line of its own, with the
line prefix and the field's name where a level would be, right after the message they belong
to (PostgreSQL's docs, "Error Reporting and Logging", `log_error_verbosity`). They are not
levels: such a line continues the event before it."""

LETTERS = {
    "V": "TRACE",  # Android verbose
    "T": "TRACE",
    "D": "DEBUG",
    "I": "INFO",
    "N": "INFO",  # notice
    "W": "WARNING",
    "E": "ERROR",
    "F": "CRITICAL",  # Android fatal, klog fatal
    "A": "CRITICAL",  # Android assert
    "C": "CRITICAL",
    "M": "CRITICAL",  # Beego's emergency
}
"""Single-letter levels (Android logcat, klog, glog)."""

SYSLOG_SEVERITIES = {
    "0": "CRITICAL",  # emerg
    "1": "CRITICAL",  # alert
    "2": "CRITICAL",  # crit
    "3": "ERROR",  # err
    "4": "WARNING",  # warning
    "5": "INFO",  # notice
    "6": "INFO",  # info
    "7": "DEBUG",  # debug
}
"""RFC 5424 severities (the PRI value modulo 8, or journald's PRIORITY)."""


def level_words(text: pd.Series) -> pd.Series:
    """Level words folded onto the level set; an unknown word is kept upper-cased (the raw
    model then names it)."""
    return as_text(text).str.upper().replace(WORDS).astype("str")


def level_letters_or_words(text: pd.Series) -> pd.Series:
    """Single letters (I, W, E, ...) or words."""
    upper = as_text(text).str.upper()
    return upper.replace({**WORDS, **LETTERS}).astype("str")


def syslog_severity(text: pd.Series) -> pd.Series:
    """Numeric syslog severities 0-7, or words."""
    upper = as_text(text).str.upper()
    return upper.replace({**WORDS, **SYSLOG_SEVERITIES}).astype("str")


def severity_of_pri(pri: str | None) -> str | None:
    """The severity digit of a syslog PRI (`<34>` is facility 4, severity 2)."""
    if pri is None or not pri.isdigit() or int(pri) > 191:
        return None
    return str(int(pri) % 8)
