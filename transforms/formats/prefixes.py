"""Prefixes that container runtimes and log shippers put before every line a server wrote:
recognised on a file's first lines, stripped from every line, and recorded in the file's notes.

- `docker compose logs` (and `docker-compose`): the service name, padding and `| `
  (`caddy  | {"level":"info",...}`, `web-1  | 10.0.0.1 - - [...]`);
- Kubernetes' container log files (CRI format, what `/var/log/containers/*.log` and log shippers
  read): `2024-05-26T11:42:52.601Z stdout F ` (time, stream, full or partial line tag).

A file is stripped only when at least 90 % of the first lines detection samples carry the same
prefix, so a line that merely contains `| ` is never cut. Line numbers do not change; the
quarantine keeps the line without its prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from transforms.formats.registry import MIN_SHARE, sample_head


@dataclass(frozen=True)
class Prefix:
    name: str
    pattern: re.Pattern[bytes]


PREFIXES = (
    Prefix("docker compose", re.compile(rb"^[A-Za-z0-9][A-Za-z0-9_.-]*[ \t]*\| ", re.M)),
    Prefix(
        "Kubernetes CRI",
        re.compile(
            rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d) "
            rb"(?:stdout|stderr) [FP] ",
            re.M,
        ),
    ),
)


def strip_prefix(text: bytes) -> tuple[bytes, str | None]:
    """`text` with the prefix every line carries removed, and a note naming it (None and the
    text unchanged when no known prefix is on at least MIN_SHARE of the first lines)."""
    lines = [line for line in sample_head(text).split(b"\n") if line.strip()]
    if not lines:
        return text, None
    for prefix in PREFIXES:
        carried = sum(prefix.pattern.match(line) is not None for line in lines)
        if carried >= MIN_SHARE * len(lines):
            stripped = prefix.pattern.sub(b"", text)
            return stripped, f"{prefix.name} prefix stripped from every line"
    return text, None
