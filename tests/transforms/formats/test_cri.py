import json

import pandas as pd

from transforms.canonical import canonical_events
from transforms.formats import registry
from transforms.formats.prefixes import strip_prefix

AS_OF = pd.Timestamp("2026-12-01", tz="UTC")


def test_a_containers_lines_no_format_reads_are_events_with_the_runtimes_time():
    """.NET's console log (no time of its own) in a pod's log file: each line an event at the
    runtime's time, its level word read, an indented line joined to the event before it."""
    lines = [
        "2026-11-01T10:00:00.100000000Z stdout F info: Microsoft.Hosting.Lifetime[14]",
        "2026-11-01T10:00:00.100100000Z stdout F       Now listening on: http://[::]:8080",
        "2026-11-01T10:00:01.400000000Z stdout F warn: Microsoft.AspNetCore.DataProtection[50]",
        "2026-11-01T10:00:01.400100000Z stdout F       Using an in-memory repository.",
        "2026-11-01T10:00:02.000000000Z stderr F Unhandled exception. System.Exception: boom",
        "2026-11-01T10:00:02.000100000Z stderr F    at Program.Main() in /src/Program.cs:line 12",
    ]
    data = ("\n".join(lines) + "\n").encode()
    assert strip_prefix(data) == (data, None)  # no format reads the program's lines
    assert registry.detect(data) == "cri"
    events = canonical_events(registry.parse(data, "cri"), source="web", as_of=AS_OF)
    assert events.rejects.empty
    kept = events.events
    assert kept["ts"].tolist() == [
        pd.Timestamp("2026-11-01T10:00:00.1Z"),
        pd.Timestamp("2026-11-01T10:00:01.4Z"),
        pd.Timestamp("2026-11-01T10:00:02Z"),
    ]
    assert kept["level"].tolist() == ["INFO", "WARNING", "INFO"]
    assert kept["message"].iloc[0] == (
        "Microsoft.Hosting.Lifetime[14]\n      Now listening on: http://[::]:8080"
    )
    assert kept["message"].iloc[2].endswith("at Program.Main() in /src/Program.cs:line 12")
    streams = [json.loads(a)["stream"] for a in kept["attributes"]]
    assert streams == ["stdout", "stdout", "stderr"]


def test_a_containers_lines_in_a_format_still_lose_only_the_prefix():
    """Where the program's lines are a format, the runtime's prefix is stripped and that
    format reads them, as before."""
    access = (
        '10.0.0.1 - - [01/Nov/2026:10:00:0{i} +0000] "GET /api/items/{i} HTTP/1.1" 200 12 "-" '
        '"curl/8"'
    )
    data = "".join(
        f"2026-11-01T10:00:0{i}.000000000Z stdout F {access.format(i=i)}\n" for i in range(4)
    ).encode()
    text, note = strip_prefix(data)
    assert note == "Kubernetes CRI prefix stripped from every line"
    assert registry.detect(text) == "combined"
