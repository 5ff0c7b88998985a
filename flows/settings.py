"""The one settings object: built from environment variables and an optional `logcast.toml`."""

from __future__ import annotations

import codecs
import fnmatch
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from schemas.common import EARLIEST_EVENT, TIME_FLOOR
from schemas.registry import default_retention
from transforms.endpoints import DEFAULT_FOLD_VARIETY

if TYPE_CHECKING:
    from transforms.forecast.options import ForecastOptions
    from transforms.rules import Rule


class SettingsError(ValueError):
    """A setting is missing, unknown or of the wrong type; the message names where it came from."""


@dataclass(frozen=True)
class SourceSettings:
    """One log source: which landing files are its own and how to read and judge them."""

    name: str
    paths: tuple[str, ...] = ("*",)
    """Glob patterns, relative to the landing folder, of the source's files."""
    format: str = "auto"
    mapping: tuple[tuple[str, str, str | None], ...] = ()
    """(canonical column, file column or dotted JSON path, unit) for csv/tsv/jsonl."""
    max_bad_fraction: float = 1.0
    """A run fails when more than this share of the source's records is quarantined."""
    max_endpoints: int = 500
    fold_variety: int = DEFAULT_FOLD_VARIETY
    """A parent with more distinct values than this has them folded into {var} (0: never)."""
    endpoint_rules: tuple[tuple[str, str], ...] = ()
    """(regex, replacement) applied to endpoints after ids are folded."""
    encoding: str = "utf-8"
    """The text encoding of the source's files (any Python codec name); a file with a UTF-16 or
    UTF-32 byte order mark is read by its mark whatever this says."""
    dimensions: tuple[str, ...] = ()
    """Attributes of the source's requests (`requests.attributes`: a CSV's extra columns, a
    JSON log's unmapped keys, an access log's referer and user agent) that `dimension_hourly`
    breaks the requests down by."""

    def matches(self, relative: str) -> bool:
        return any(fnmatch.fnmatchcase(relative, pattern) for pattern in self.paths)


DEFAULT_RETENTION = default_retention()
"""(table, days) removed after that many days by default: from the table registry."""


@dataclass(frozen=True)
class Settings:
    """Where logcast keeps its data and how it computes.

    Precedence: environment variable > `logcast.toml` > default.
    """

    home: Path
    landing_dir: Path
    catalog_url: str
    slow_threshold_ms: float = 1000.0
    default_source: str = "api"
    gap_min_minutes: int = 3
    """An availability gap lasts at least this many whole minutes..."""
    gap_min_expected_requests: float = 10.0
    """...and the endpoint's rate before it predicts at least this many requests over it."""
    gap_reference_minutes: int = 60
    """The minutes before a silent stretch whose rate says what traffic was expected."""
    earliest_event: pd.Timestamp = EARLIEST_EVENT
    """Events before this UTC time are quarantined as misread times (default 1990-01-01; no
    time before 1970-01-01 is accepted)."""
    lateness_minutes: int = 5
    """How long after an hour closes its files may still land: a scheduled hourly run scores
    the newest hour that closed at least this long before its scheduled time."""
    report_url: str = ""
    """The URL the reports folder (`$LOGCAST_HOME/reports`) is served at, if any: incident
    events link to the day's report there, else to the file."""
    forecast_options: ForecastOptions | None = None
    """The [forecast] table, when logcast.toml has one (see `forecast`)."""
    sources: tuple[SourceSettings, ...] = ()
    retention_days: tuple[tuple[str, int], ...] = DEFAULT_RETENTION
    """(table, days): partitions older than that many days before today (UTC) are removed;
    tables not named are kept for good."""
    rules: tuple[Rule, ...] = ()
    """The [[rules]] of logcast.toml: thresholds judged beside the forecasts."""

    @property
    def forecast(self) -> ForecastOptions:
        """The forecasting options; built on first use when logcast.toml sets none, so that
        commands that never forecast (query, tables) do not load the forecasting code."""
        if self.forecast_options is not None:
            return self.forecast_options
        from transforms.forecast.options import ForecastOptions

        return ForecastOptions()

    @property
    def retention(self) -> dict[str, int]:
        return dict(self.retention_days)

    def source_for(self, path: Path) -> SourceSettings:
        """The first configured source whose patterns match the file (relative to the landing
        folder, or by name when outside it); else the default source, format auto."""
        try:
            relative = path.resolve().relative_to(self.landing_dir).as_posix()
        except ValueError:
            relative = path.name
        for source in self.sources:
            if source.matches(relative):
                return source
        return SourceSettings(name=self.default_source)

    @property
    def dimensions(self) -> dict[str, tuple[str, ...]]:
        """Source name -> the attributes `dimension_hourly` breaks its requests down by."""
        return {source.name: source.dimensions for source in self.sources if source.dimensions}

    def source_named(self, name: str) -> SourceSettings:
        for source in self.sources:
            if source.name == name:
                return source
        return SourceSettings(name=name)

    @property
    def warehouse_dir(self) -> Path:
        return self.home / "warehouse"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def locks_dir(self) -> Path:
        return self.home / "locks"

    @property
    def labels_path(self) -> Path:
        return self.home / "labels.csv"

    @property
    def duckdb_path(self) -> Path:
        return self.home / "logcast.duckdb"


# environment variable -> (setting name, type)
ENVIRONMENT = {
    "LOGCAST_HOME": ("home", Path),
    "LOGCAST_LANDING_DIR": ("landing_dir", Path),
    "LOGCAST_CATALOG_URL": ("catalog_url", str),
    "LOGCAST_SLOW_THRESHOLD_MS": ("slow_threshold_ms", float),
    "LOGCAST_DEFAULT_SOURCE": ("default_source", str),
    "LOGCAST_LATENESS_MINUTES": ("lateness_minutes", int),
    "LOGCAST_EARLIEST_EVENT": ("earliest_event", str),
    "LOGCAST_REPORT_URL": ("report_url", str),
}
NUMBERS = {
    "slow_threshold_ms": float,
    "gap_min_minutes": int,
    "gap_min_expected_requests": float,
    "gap_reference_minutes": int,
    "lateness_minutes": int,
}
TOP_LEVEL_KEYS = {
    "home", "landing_dir", "catalog_url", "default_source", "earliest_event", "report_url",
    *NUMBERS,
}  # fmt: skip
TABLES = {"forecast", "sources", "retention", "rules"}


def load_settings(
    environ: Mapping[str, str] | None = None, config_file: Path | None = None
) -> Settings:
    """Builds the settings; `LOGCAST_CONFIG` names the TOML file (default `./logcast.toml`)."""
    environ = os.environ if environ is None else environ
    if config_file is None:
        named = environ.get("LOGCAST_CONFIG")
        config_file = Path(named) if named else Path("logcast.toml")
        if named and not config_file.exists():
            raise SettingsError(f"LOGCAST_CONFIG names {config_file}, which does not exist")
    raw = _read_toml(config_file) if config_file.exists() else {}

    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in TABLES:
            continue
        if key not in TOP_LEVEL_KEYS:
            raise SettingsError(
                f"{config_file}: unknown setting '{key}'; expected one of "
                f"{', '.join(sorted(TOP_LEVEL_KEYS | TABLES))}"
            )
        values[key] = value
    for variable, (name, kind) in ENVIRONMENT.items():
        if environ.get(variable):
            values[name] = _convert(environ[variable], kind, variable)

    base = config_file.parent if config_file.exists() else Path.cwd()
    home = _resolve(values.pop("home", ".logcast"), base)
    landing = _resolve(values.pop("landing_dir", home / "landing"), base)
    catalog_url = values.pop("catalog_url", f"sqlite:///{home / 'catalog.db'}")
    for name, kind in (*NUMBERS.items(), ("default_source", str), ("report_url", str)):
        if name in values:
            values[name] = _convert(values[name], kind, f"{config_file}: {name}")
    if "earliest_event" in values:
        values["earliest_event"] = _earliest(values["earliest_event"], config_file)
    forecast = _forecast_options(raw["forecast"], config_file) if "forecast" in raw else None
    sources = _sources(raw.get("sources", {}), config_file)
    retention = _retention(raw.get("retention", {}), config_file)
    rules = _rules(raw.get("rules", []), config_file)
    return Settings(
        home=home,
        landing_dir=landing,
        catalog_url=catalog_url,
        forecast_options=forecast,
        sources=sources,
        retention_days=retention,
        rules=rules,
        **values,
    )


def _earliest(value: Any, config_file: Path) -> pd.Timestamp:
    """earliest_event: a date or time (TOML date, ISO 8601 text), read as UTC when naive."""
    where = f"{config_file}: earliest_event (or LOGCAST_EARLIEST_EVENT)"
    try:
        earliest = pd.Timestamp(str(value))
    except (ValueError, TypeError):
        earliest = pd.NaT
    if earliest is pd.NaT:
        raise SettingsError(f"{where}: expected a date such as 1995-01-01, got {value!r}")
    earliest = (
        earliest.tz_localize("UTC") if earliest.tzinfo is None else earliest.tz_convert("UTC")
    )
    if earliest < TIME_FLOOR:
        raise SettingsError(f"{where}: expected a date from 1970-01-01, got {value!r}")
    return earliest.as_unit("us")


def _retention(table: Mapping[str, Any], config_file: Path) -> tuple[tuple[str, int], ...]:
    """[retention] TABLE = DAYS over the defaults; 0 keeps a table for good."""
    from warehouse.layout import TABLES as STORED

    if not isinstance(table, Mapping):
        raise SettingsError(f"{config_file}: [retention] must be a table of TABLE = DAYS")
    days = dict(DEFAULT_RETENTION)
    for name, value in table.items():
        if name not in STORED:
            raise SettingsError(
                f"{config_file}: retention.{name}: unknown table; expected one of "
                f"{', '.join(STORED)}"
            )
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise SettingsError(
                f"{config_file}: retention.{name}: expected a whole number of days "
                f"(0 keeps the table for good), got {value!r}"
            )
        days[name] = value
    return tuple(sorted(days.items()))


def _rules(tables: Any, config_file: Path) -> tuple[Rule, ...]:
    """[[rules]]: each checked on load, their names unique."""
    from transforms.rules import RuleError, rule_from

    if not isinstance(tables, list):
        raise SettingsError(
            f"{config_file}: rules must be an array of tables, written [[rules]] per rule"
        )
    rules: list[Rule] = []
    for index, table in enumerate(tables, start=1):
        name = table.get("name") if isinstance(table, Mapping) else None
        where = f"{config_file}: rule {index}" + (f" ('{name}')" if isinstance(name, str) else "")
        try:
            rule = rule_from(table)
        except RuleError as exc:
            raise SettingsError(f"{where}: {exc}") from None
        if any(r.name == rule.name for r in rules):
            raise SettingsError(f"{where}: another rule has this name; rule names are unique")
        rules.append(rule)
    return tuple(rules)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None


def _resolve(value: str | Path, base: Path) -> Path:
    path = Path(value).expanduser()
    return (path if path.is_absolute() else base / path).resolve()


def _convert(value: Any, kind: type, where: str) -> Any:
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{where}: expected a {kind.__name__}, got {value!r}") from None


def _forecast_options(table: Mapping[str, Any], config_file: Path) -> ForecastOptions:
    from transforms.forecast.options import ForecastOptions

    if not isinstance(table, Mapping):
        raise SettingsError(f"{config_file}: [forecast] must be a table")
    known = {f.name: f for f in fields(ForecastOptions)}
    options = ForecastOptions()
    for key, value in table.items():
        if key not in known:
            raise SettingsError(
                f"{config_file}: unknown setting 'forecast.{key}'; expected one of "
                f"{', '.join(sorted(known))}"
            )
        current = getattr(options, key)
        kind = type(current)
        if isinstance(current, tuple):
            value = tuple(value)
        else:
            value = _convert(value, kind, f"{config_file}: forecast.{key}")
        try:
            options = replace(options, **{key: value})
        except ValueError as exc:
            raise SettingsError(f"{config_file}: forecast.{key}: {exc}") from None
    return options


SOURCE_KEYS = {
    "paths",
    "format",
    "mapping",
    "max_bad_fraction",
    "max_endpoints",
    "fold_variety",
    "endpoint_rules",
    "dimensions",
    "encoding",
}


def _sources(table: Mapping[str, Any], config_file: Path) -> tuple[SourceSettings, ...]:
    if not isinstance(table, Mapping):
        raise SettingsError(f"{config_file}: [sources] must be a table of [sources.NAME] tables")
    sources = []
    for name, options in table.items():
        where = f"{config_file}: sources.{name}"
        if not isinstance(options, Mapping):
            raise SettingsError(f"{where} must be a table")
        unknown = set(options) - SOURCE_KEYS
        if unknown:
            raise SettingsError(
                f"{where}: unknown setting '{sorted(unknown)[0]}'; expected one of "
                f"{', '.join(sorted(SOURCE_KEYS))}"
            )
        paths = options.get("paths", ["*"])
        paths = (paths,) if isinstance(paths, str) else tuple(str(p) for p in paths)
        mapping = []
        for column, spec in options.get("mapping", {}).items():
            if isinstance(spec, str):
                mapping.append((column, spec, None))
            elif isinstance(spec, Mapping) and "column" in spec:
                mapping.append((column, str(spec["column"]), spec.get("unit")))
            else:
                raise SettingsError(
                    f"{where}.mapping.{column}: expected a column name or "
                    '{ column = "...", unit = "..." }'
                )
        rules = []
        for index, rule in enumerate(options.get("endpoint_rules", [])):
            if not isinstance(rule, Mapping) or "pattern" not in rule or "replacement" not in rule:
                raise SettingsError(
                    f"{where}.endpoint_rules[{index}]: expected {{ pattern = ..., replacement = ... }}"
                )
            try:
                re.compile(rule["pattern"])
            except re.error as exc:
                raise SettingsError(
                    f"{where}.endpoint_rules[{index}]: bad pattern {rule['pattern']!r}: {exc}"
                ) from None
            rules.append((str(rule["pattern"]), str(rule["replacement"])))
        fraction = _convert(
            options.get("max_bad_fraction", 1.0), float, f"{where}.max_bad_fraction"
        )
        variety = _convert(
            options.get("fold_variety", DEFAULT_FOLD_VARIETY), int, f"{where}.fold_variety"
        )
        if variety < 0:
            raise SettingsError(
                f"{where}.fold_variety: expected 0 (never fold) or more, got {variety}"
            )
        if not 0 <= fraction <= 1:
            raise SettingsError(f"{where}.max_bad_fraction: expected 0..1, got {fraction}")
        dimensions = options.get("dimensions", [])
        if not isinstance(dimensions, list) or not all(
            isinstance(d, str) and d for d in dimensions
        ):
            raise SettingsError(
                f'{where}.dimensions: expected a list of attribute names, e.g. ["document_type"]'
            )
        encoding = options.get("encoding", "utf-8")
        try:
            if not getattr(codecs.lookup(encoding), "_is_text_encoding", True):
                raise LookupError(encoding)  # base64, zlib ...: codecs of bytes, not of text
        except (LookupError, TypeError):
            raise SettingsError(
                f"{where}.encoding: unknown text encoding {encoding!r}; expected a codec name "
                'such as "utf-8", "cp1252", "latin-1", "utf-16" or "shift_jis"'
            ) from None
        sources.append(
            SourceSettings(
                name=str(name),
                paths=paths,
                format=str(options.get("format", "auto")),
                mapping=tuple(mapping),
                max_bad_fraction=fraction,
                max_endpoints=_convert(
                    options.get("max_endpoints", 500), int, f"{where}.max_endpoints"
                ),
                fold_variety=variety,
                endpoint_rules=tuple(rules),
                dimensions=tuple(dict.fromkeys(dimensions)),
                encoding=str(encoding),
            )
        )
    return tuple(sources)
