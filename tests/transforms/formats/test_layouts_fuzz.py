"""No input breaks a log layout: random bytes, truncated lines and lines of every layout mixed,
fed to every layout (and to a user pattern). Each record is kept or quarantined with a reason,
and the canonical step accounts for every candidate too."""

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.transforms.formats.test_layouts import LOG4J, SAMPLES
from transforms.canonical import canonical_events
from transforms.formats import layouts, registry
from transforms.formats.base import FileFormatError

AS_OF = pd.Timestamp("2026-11-02", tz="UTC")
LINES = [line.encode() for lines in SAMPLES.values() for line in lines] + [
    line.encode() for line in LOG4J
]
FORMATS = [f.name for f in layouts.FORMATS] + [
    "pattern:%{SYSLOGTIMESTAMP:ts} %{LOGLEVEL:level} %{DATA:service}: %{GREEDYDATA:message}",
    "log4j:%d{ISO8601} %-5p [%t] %c - %m%n",
]


def check_file(data: bytes, fmt: str) -> None:
    try:
        parsed = registry.parse(data, fmt, as_of=AS_OF)
    except FileFormatError as refused:
        assert str(refused)
        return
    assert parsed.records_read == len(parsed.candidates) + len(parsed.rejects)
    events = canonical_events(parsed, source="fuzz", as_of=AS_OF)
    assert len(events.events) + len(events.rejects) == parsed.records_read
    assert events.rejects["reasons"].str.len().gt(0).all()


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_truncation_of_every_sample_line_is_kept_or_quarantined(fmt):
    data = b"\n".join(line[:n] for line in LINES for n in range(0, len(line), 7))
    check_file(data, fmt)


lines = st.one_of(
    st.sampled_from(LINES),
    st.binary(max_size=200),
    st.sampled_from(LINES).flatmap(lambda s: st.integers(0, len(s)).map(lambda n: s[:n])),
    st.text(max_size=120).map(lambda t: t.encode("utf-8", "surrogatepass")),
)
files = st.lists(lines, min_size=0, max_size=12).map(b"\n".join)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=files)
def test_every_layout_reads_or_refuses_any_input_without_an_exception(fmt, data):
    check_file(data, fmt)
