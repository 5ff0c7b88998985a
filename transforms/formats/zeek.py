"""Zeek's (Bro's) http.log in its default tab-separated form (`zeek`): the HTTP requests a
network sensor saw, one per line, under `#`-directives that name the columns:

    #separator \\x09
    #path	http
    #fields	ts	uid	id.orig_h	id.orig_p	id.resp_h	id.resp_p	trans_depth	method	host	uri	...
    1320279566.452687	CwFs1P2UcUdlSxD2La	192.168.2.76	52026	132.235.215.119	80	1	GET	...

ts is epoch seconds (UTC); path `uri`; client `id.orig_h`; method, `status_code`, and the
response's `response_body_len` as its bytes; `-` is an unset field and `(empty)` an empty
one. The other fields are attributes (`host`, `user_agent`, `referrer`, `uid` ...). A log of
another kind (`#path conn`, `dns` ...) holds no requests: the file is refused, naming it. Zeek
logs no duration of a request."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from transforms.formats.access import BYTES, STATUS
from transforms.formats.attributes import COLUMN_PREFIX, prefixed_columns
from transforms.formats.base import (
    LINE_NUMBER,
    RAW,
    STR_MAPPER,
    Field,
    FileFormatError,
    Format,
    Parsed,
    arrow_text,
    as_text,
    as_timestamp,
    build,
    rejects_frame,
    split_lines,
)

_COLUMNS = {
    "ts": "ts",
    "id.orig_h": "client_ip",
    "method": "method",
    "uri": "path",
    "status_code": "status_code",
    "response_body_len": "bytes_sent",
    "username": "user_id",
}
FIELDS = {
    "ts": Field("ts", as_timestamp(), "epoch seconds"),
    "client_ip": Field("client_ip", as_text, "text"),
    "method": Field("method", as_text, "text"),
    "path": Field("path", as_text, "text"),
    "status_code": Field("status_code", STATUS[1], STATUS[0]),
    "bytes_sent": Field("bytes_sent", BYTES[1], BYTES[0]),
    "user_id": Field("user_id", as_text, "text"),
}
LAYOUT = "Zeek's http.log: `#fields` names the tab-separated columns of the lines after it"
_UNSET = pa.array(["-", "(empty)"], pa.large_string())


def looks_like_zeek(line: str) -> bool:
    """A file that starts as Zeek writes its logs: `#separator \\x09` (or a tab)."""
    return line.startswith("#separator ")


def parse_zeek(data: bytes) -> Parsed:
    """Requests from a Zeek http.log: each line read with the `#fields` line before it (a log
    rotated into one file may repeat its header). A line before any `#fields` line, or with
    another number of values, is rejected with the reason."""
    lines = split_lines(data)
    texts = lines.texts
    is_directive = texts.str.startswith("#").fillna(False).to_numpy(dtype=bool)
    kinds = [t.split("\t", 1)[1].strip() for t in texts[is_directive] if t.startswith("#path\t")]
    other = sorted({k for k in kinds if k != "http"})
    if other and "http" not in kinds:
        raise FileFormatError(
            f"a Zeek {other[0]} log, which holds no HTTP requests: expected Zeek's http.log "
            "(`#path http`)"
        )
    is_fields = texts.str.startswith("#fields\t").fillna(False).to_numpy(dtype=bool)
    block = np.cumsum(is_fields)
    names = [texts.iloc[row].split("\t")[1:] for row in np.flatnonzero(is_fields)]
    data_rows = np.flatnonzero(~is_directive)
    values = pc.split_pattern(arrow_text(texts).take(pa.array(data_rows)), "\t")
    counts = pc.list_value_length(values).to_numpy(zero_copy_only=False)
    widths = np.array([0] + [len(n) for n in names])
    timed = np.array([False] + ["ts" in n for n in names])
    chosen = block[data_rows]
    ok = (chosen > 0) & (widths[chosen] == counts) & timed[chosen]
    reasons = [
        f"no #fields line before it; expected {LAYOUT}"
        if not number
        else f"the line has {count} values, its #fields line names {widths[number]}"
        if count != widths[number]
        else "its #fields line names no ts field (the time of Zeek's entries)"
        for number, count in zip(chosen[~ok], counts[~ok], strict=True)
    ]
    rejects = pd.concat(
        [
            lines.rejects,
            rejects_frame(lines.numbers[data_rows[~ok]], texts.iloc[data_rows[~ok]], reasons),
        ],
        ignore_index=True,
    )
    frames = []
    for number in np.unique(chosen[ok]):
        mine = ok & (chosen == number)
        block_values = values.filter(pa.array(mine))
        rows = data_rows[mine]
        records = pd.DataFrame(index=texts.index[rows])
        for position, name in enumerate(names[number - 1]):
            column = _COLUMNS.get(name, f"{COLUMN_PREFIX}{name}")
            if column in records:
                continue
            field = pc.list_element(block_values, position)
            field = pc.if_else(pc.is_in(field, _UNSET), pa.scalar(None, pa.large_string()), field)
            records[column] = field.to_pandas(types_mapper=STR_MAPPER).set_axis(records.index)
        records[LINE_NUMBER] = pd.array(lines.numbers[rows], dtype="Int64")
        records[RAW] = texts.iloc[rows].astype("str")
        frames.append(records)
    if frames:
        records = pd.concat(frames).sort_values(LINE_NUMBER, kind="stable").reset_index(drop=True)
    else:
        records = pd.DataFrame(
            {LINE_NUMBER: pd.array([], dtype="Int64"), RAW: pd.Series([], dtype="str")}
        )
    return build(
        records,
        {k: v for k, v in FIELDS.items() if k in records},
        format="zeek",
        records_read=int((~is_directive).sum()) + len(lines.rejects),
        rejects=rejects,
        attributes=prefixed_columns(records),
    )


FORMATS = [
    Format(
        "zeek",
        parse_zeek,
        looks_like_zeek,
        "Zeek's (Bro's) http.log, tab-separated under its #fields line",
    )
]
