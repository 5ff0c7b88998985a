"""From a parser's typed candidates to canonical `requests` events: source, endpoint
normalisation, the cardinality cap, and the rules every event must meet."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas.common import EARLIEST_EVENT, FUTURE_TOLERANCE
from schemas.raw import raw_model
from schemas.requests import Request
from transforms.endpoints import DEFAULT_FOLD_VARIETY, normalise_endpoints
from transforms.formats.base import (
    CANDIDATE_TYPES,
    LINE_NUMBER,
    RAW,
    REASONS,
    STR_MAPPER,
    Parsed,
    arrow_text,
)
from transforms.validate import merge_reasons, schema_reasons

OTHER_ENDPOINT = "{other}"
INVALID_ENDPOINT = "{invalid}"
"""The endpoint of a response to something that was not an HTTP request (an access log's
`"-"` or `""` request line: a connection closed before a request, a malformed one): the
response and its status are real and counted, the request names no path."""
_INVALID_REQUEST_FORMATS = (
    "common",
    "combined",
    "haproxy",
    "envoy",
    "traefik",
    "alb",
    "elb",
    "heroku",
    "squid",
    "npm",
)
"""Access formats whose null path beside a status is such a response (nginx templates too)."""
CONNECTION_ENDPOINT = "{connection}"
"""The endpoint of a proxy's TCP connection entry (HAProxy `option tcplog`, a Classic Load
Balancer's TCP/SSL listener, Envoy's TCP proxy): no HTTP request and no status, but a connection with its time
and bytes, counted like a request."""
_CONNECTION_FORMATS = ("haproxy", "elb", "envoy", "squid")


UNCAPPED = 2**62
"""An endpoint cap no source reaches: `EndpointRules.max_endpoints` for no cap at all."""


@dataclass(frozen=True)
class EndpointRules:
    """User rules (regex -> replacement, applied in order after the built-in folding), the
    number of distinct endpoints a source may have before rare new ones fold into {other}, and
    the distinct values a parent may have before they fold into {var} (0: never; applied per
    file by `transforms.reading`, over the source's earlier endpoints too)."""

    rules: tuple[tuple[str, str], ...] = ()
    max_endpoints: int = 500
    fold_variety: int = DEFAULT_FOLD_VARIETY


@dataclass(frozen=True)
class Events:
    """Valid canonical events and the records that failed, with every reason."""

    events: pd.DataFrame  # Request columns + line_number
    rejects: pd.DataFrame  # line_number, raw, reasons
    new_endpoints: tuple[str, ...] = ()  # endpoints this file admitted for its source
    notes: tuple[str, ...] = field(default=())


def endpoints_of(paths: pd.Series, rules: EndpointRules) -> pd.Series:
    endpoints = normalise_endpoints(paths)
    for pattern, replacement in rules.rules:
        endpoints = endpoints.str.replace(re.compile(pattern), replacement, regex=True)
    return endpoints


def rank_new_endpoints(
    counts: pd.Series, known: frozenset[str], cap: int
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """From the count of each endpoint, the new ones admitted (most frequent first, then by
    name) while the source has fewer than `cap`, and the ones folded into {other}."""
    counts = counts[~counts.index.isin(known) & counts.index.notna()]
    if counts.empty:
        return (), ()
    ranked = counts.sort_index().sort_values(ascending=False, kind="stable")
    room = max(cap - len(known), 0)
    return tuple(ranked.index[:room]), tuple(ranked.index[room:])


def cap_endpoints(
    endpoints: pd.Series, known: frozenset[str], cap: int
) -> tuple[pd.Series, tuple[str, ...], tuple[str, ...]]:
    """Admits new endpoints, most frequent first, while the source has fewer than `cap`; the
    rest become {other}. Returns (endpoints, admitted, folded)."""
    admitted, folded = rank_new_endpoints(endpoints.value_counts(sort=False), known, cap)
    if folded:
        endpoints = endpoints.where(~endpoints.isin(folded), OTHER_ENDPOINT)
    return endpoints, admitted, folded


_IPV4_PORT = r"^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$"
_IPV6_BRACKETS = r"^\[([0-9A-Fa-f:.]+(?:%[\w.-]+)?)\](?::\d{1,5})?$"


def without_port(addresses: pd.Series) -> pd.Series:
    """Client addresses without the port some loggers keep (`203.0.113.7:51234`, as Go's
    `RemoteAddr` is; `[2001:db8::1]:443`); an IPv6 address without brackets stays whole."""
    array = arrow_text(addresses)
    if not pc.any(pc.match_substring(array, ":")).as_py():
        return addresses
    bare = pc.replace_substring_regex(array, _IPV4_PORT, r"\1")
    bare = pc.replace_substring_regex(bare, _IPV6_BRACKETS, r"\1")
    return pd.Series(bare.to_pandas(types_mapper=STR_MAPPER), index=addresses.index)


def _not_logged(name: str, index: pd.Index, null_text: pd.Series) -> pd.Series:
    """An all-null column; the text ones all share `null_text` (no buffers per column where a
    file logs few of the canonical fields)."""
    if CANDIDATE_TYPES[name] != "str":
        return pd.Series(index=index, dtype=CANDIDATE_TYPES[name])
    return null_text


def canonical_events(
    parsed: Parsed,
    *,
    source: str,
    as_of: pd.Timestamp,
    rules: EndpointRules | None = None,
    known_endpoints: frozenset[str] = frozenset(),
    earliest: pd.Timestamp = EARLIEST_EVENT,
) -> Events:
    """Canonical events from candidates; `as_of` bounds future timestamps (now + 1 day) and
    `earliest` (the `earliest_event` setting) past ones. Records read in another format
    (`parsed.others`) are checked by that format's rules and join the events in line order."""
    if parsed.others:
        return _with_others(
            parsed,
            source=source,
            as_of=as_of,
            rules=rules,
            known_endpoints=known_endpoints,
            earliest=earliest,
        )
    rules = rules or EndpointRules()
    candidates = parsed.candidates
    index = candidates.index
    columns = {}
    null_text = pd.Series(
        pa.nulls(len(index), pa.large_string()).to_pandas(types_mapper=STR_MAPPER), index=index
    )
    for name in Request.to_schema().columns:
        if name == "source":  # one value: made by Arrow (pandas fills a str column slowly)
            constant = pa.repeat(pa.scalar(source, pa.large_string()), len(index))
            columns[name] = pd.Series(constant.to_pandas(types_mapper=STR_MAPPER), index=index)
        elif name == "endpoint":
            paths = (
                candidates["path"]
                if "path" in candidates
                else pd.Series(pd.NA, index=index, dtype="str")
            )
            columns[name] = endpoints_of(paths.astype("str"), rules)
        elif name == "client_ip" and name in candidates:
            columns[name] = without_port(candidates[name])
        elif name in candidates:
            columns[name] = candidates[name]
        else:
            columns[name] = _not_logged(name, index, null_text)
    frame = pd.DataFrame(columns, index=index)

    # the format's own rules first (schemas.raw); a record that breaks them is not checked
    # again as an event, so each problem is named once
    # (a parser that kept no candidate may not have made the columns its model requires)
    raw_reasons = (
        schema_reasons(candidates, raw_model(parsed.format))
        if len(candidates)
        else pd.Series(dtype="str")
    )
    checked = ~index.isin(raw_reasons.index)

    latest = pd.Timestamp(as_of).tz_convert("UTC") + FUTURE_TOLERANCE
    future = (frame["ts"] > latest) & checked
    timing = pd.Series(
        "ts: "
        + frame.loc[future, "ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        + f" is in the future (after {latest:%Y-%m-%dT%H:%M}Z, now + 1 day)",
        dtype="str",
    )
    earliest = pd.Timestamp(earliest)
    earliest = earliest.tz_localize("UTC") if earliest.tzinfo is None else earliest
    past = (frame["ts"] < earliest) & checked
    if past.any():
        timing = pd.concat(
            [
                timing,
                pd.Series(
                    f"ts: expected >= {earliest:%Y-%m-%d %H:%M:%S}Z (the earliest_event "
                    "setting), got '"
                    + frame.loc[past, "ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
                    + "'",
                    dtype="str",
                ),
            ]
        )
    if parsed.format in _INVALID_REQUEST_FORMATS or parsed.format.startswith("nginx:"):
        answered = frame["endpoint"].isna() & frame["status_code"].notna()
        frame.loc[answered, "endpoint"] = INVALID_ENDPOINT
    if parsed.format in _CONNECTION_FORMATS:
        connection = frame["endpoint"].isna() & frame["status_code"].isna() & checked
        frame.loc[connection, "endpoint"] = CONNECTION_ENDPOINT
    no_endpoint = frame["endpoint"].isna() & frame["level"].isna() & checked
    unnamed = pd.Series(
        "endpoint: missing (a request needs a path or endpoint, a log event a level or a message)",
        index=frame.index[no_endpoint],
        dtype="str",
    )
    to_check = checked & ~no_endpoint
    named = frame if to_check.all() else frame.loc[to_check]
    reasons = merge_reasons(raw_reasons, timing, unnamed, schema_reasons(named, Request))
    bad = frame.index.isin(reasons.index)

    kept = frame.loc[~bad] if bad.any() else frame
    if rules.max_endpoints < UNCAPPED:
        endpoints, admitted, folded = cap_endpoints(
            kept["endpoint"], known_endpoints, rules.max_endpoints
        )
        kept = kept.assign(endpoint=endpoints)
    else:  # a piece of a file, whose endpoints the file's reading caps as a whole
        admitted, folded = (), ()
    notes = list(parsed.notes)
    if folded:
        notes.append(
            f"endpoint cap of {rules.max_endpoints} reached for source '{source}': "
            f"{len(folded)} rare endpoints folded into {OTHER_ENDPOINT} (e.g. {', '.join(folded[:3])})"
        )
    # Every kept row passed the schema above, in the schema's types: no second validation.
    events = kept
    events[LINE_NUMBER] = candidates.loc[~bad, LINE_NUMBER]
    rejects = pd.DataFrame(
        {
            LINE_NUMBER: candidates.loc[bad, LINE_NUMBER],
            RAW: pd.Series(
                parsed.raw(np.flatnonzero(bad)).to_numpy(), index=index[bad], dtype="str"
            ),
            REASONS: reasons.reindex(frame.index[bad]).astype("str"),
        }
    )
    all_rejects = pd.concat([parsed.rejects, rejects], ignore_index=True)
    return Events(
        events=events.reset_index(drop=True),
        rejects=all_rejects.sort_values(LINE_NUMBER, kind="stable").reset_index(drop=True),
        new_endpoints=admitted,
        notes=tuple(notes),
    )


def _with_others(parsed: Parsed, **options) -> Events:
    """`canonical_events` of a parse and of the records it read in other formats, together."""
    parts = [canonical_events(replace(parsed, others=()), **options)] + [
        canonical_events(other, **options) for other in parsed.others
    ]
    events = pd.concat([p.events for p in parts if len(p.events)] or [parts[0].events])
    rejects = pd.concat([p.rejects for p in parts if len(p.rejects)] or [parts[0].rejects])
    return Events(
        events=events.sort_values(LINE_NUMBER, kind="stable").reset_index(drop=True),
        rejects=rejects.sort_values(LINE_NUMBER, kind="stable").reset_index(drop=True),
        new_endpoints=tuple(dict.fromkeys(e for p in parts for e in p.new_endpoints)),
        notes=tuple(dict.fromkeys(n for p in parts for n in p.notes)),
    )
