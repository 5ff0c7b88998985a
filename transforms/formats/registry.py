"""Every format by name, and detection of a file's format from its first line."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from transforms.formats import access, delimited, jsonl, loadbalancer, proxies, servicelog
from transforms.formats.base import FileFormatError, Format, Parsed, split_lines


def _looks_delimited(delimiter: str) -> Callable[[str], bool]:
    other = "\t" if delimiter == "," else ","

    def looks_like(line: str) -> bool:
        # a header line: more of this delimiter than of the other one
        return line.count(delimiter) >= 1 and line.count(other) < line.count(delimiter)

    return looks_like


FORMATS: dict[str, Format] = {
    "csv": Format(
        "csv",
        lambda data, **o: delimited.parse_delimited(data, delimiter=",", format="csv", **o),
        _looks_delimited(","),
        "comma-separated with a header",
    ),
    "tsv": Format(
        "tsv",
        lambda data, **o: delimited.parse_delimited(data, delimiter="\t", format="tsv", **o),
        _looks_delimited("\t"),
        "tab-separated with a header",
    ),
}


def _delimited_mapping(mapping) -> dict[str, delimited.Column]:
    return {target: delimited.Column(column, unit) for target, column, unit in mapping}


def _json_mapping(mapping) -> dict[str, jsonl.JsonField]:
    return {target: jsonl.JsonField(path, unit) for target, path, unit in mapping}


MAPPED: dict[str, Callable[[Any], Any]] = {
    "csv": _delimited_mapping,
    "tsv": _delimited_mapping,
    "jsonl": _json_mapping,
}
"""Formats that take a column mapping, with the conversion from the settings' form."""


GENERIC = ("csv", "tsv")
"""Formats recognised only when no line format claims the first line."""


def register(fmt: Format) -> None:
    FORMATS[fmt.name] = fmt


for _module in (jsonl, servicelog, access, loadbalancer, proxies):
    for _format in _module.FORMATS:
        register(_format)

NGINX_PREFIX = "nginx:"


def get(fmt: str) -> Format:
    """A registered format, or a custom nginx `log_format` named `nginx:<template>`."""
    if fmt in FORMATS:
        return FORMATS[fmt]
    if fmt.startswith(NGINX_PREFIX):
        return access.nginx_format(fmt.removeprefix(NGINX_PREFIX))
    raise FileFormatError(
        f"unknown format '{fmt}'; expected one of {', '.join(FORMATS)} or nginx:'<log_format>'"
    )


def detect(data: bytes) -> str:
    """The one format whose pattern the first non-blank line matches."""
    lines = split_lines(data[: 64 * 1024])
    if not len(lines.texts):
        if len(lines.rejects):
            raise FileFormatError(
                f"line {lines.rejects.iloc[0]['line_number']}: {lines.rejects.iloc[0]['reasons']};"
                " cannot detect the format"
            )
        raise FileFormatError("file is empty: no line to detect the format from")
    first = lines.texts.iloc[0]
    # Anchored line formats first; a header line of a delimited file is the fallback (access
    # and load-balancer lines carry commas too, inside their quoted fields).
    matches = [f.name for f in FORMATS.values() if f.name not in GENERIC and f.looks_like(first)]
    if not matches and first.lstrip().startswith("["):
        # a JSON array (uwsgi and bracketed service-log lines start with "[" too, but a line
        # format claims those): the jsonl parser says precisely why it is not JSON lines
        return "jsonl"
    if not matches:
        matches = [name for name in GENERIC if FORMATS[name].looks_like(first)]
    if len(matches) == 1:
        return matches[0]
    shown = first[:120]
    if not matches:
        raise FileFormatError(
            f"line {lines.numbers[0]}: could not detect the format of {shown!r}; expected one of "
            f"{', '.join(FORMATS)} (name it with --format)"
        )
    raise FileFormatError(
        f"line {lines.numbers[0]}: ambiguous format, {shown!r} could be {' or '.join(matches)} "
        "(name it with --format)"
    )


def parse(
    data: bytes, fmt: str, *, mapping: tuple[tuple[str, str, str | None], ...] | None = None
) -> Parsed:
    """Parses with the named format; `mapping` is (canonical column, file column or dotted
    path, unit) for the formats that take one (csv, tsv, jsonl)."""
    chosen = get(fmt)
    options: dict[str, Any] = {}
    if mapping:
        if fmt not in MAPPED:
            raise FileFormatError(f"format '{fmt}' takes no column mapping")
        options["mapping"] = MAPPED[fmt](mapping)
    return chosen.parse(data, **options)
