"""The one settings object: built from environment variables and an optional `logcast.toml`."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from transforms.forecast import ForecastOptions


class SettingsError(ValueError):
    """A setting is missing, unknown or of the wrong type; the message names where it came from."""


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
    forecast: ForecastOptions = field(default_factory=ForecastOptions)

    @property
    def warehouse_dir(self) -> Path:
        return self.home / "warehouse"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

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
}
TOP_LEVEL_KEYS = {"home", "landing_dir", "catalog_url", "slow_threshold_ms", "default_source"}


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
        if key == "forecast":
            continue
        if key not in TOP_LEVEL_KEYS:
            raise SettingsError(
                f"{config_file}: unknown setting '{key}'; expected one of "
                f"{', '.join(sorted(TOP_LEVEL_KEYS | {'forecast'}))}"
            )
        values[key] = value
    for variable, (name, kind) in ENVIRONMENT.items():
        if environ.get(variable):
            values[name] = _convert(environ[variable], kind, variable)

    base = config_file.parent if config_file.exists() else Path.cwd()
    home = _resolve(values.pop("home", ".logcast"), base)
    landing = _resolve(values.pop("landing_dir", home / "landing"), base)
    catalog_url = values.pop("catalog_url", f"sqlite:///{home / 'catalog.db'}")
    for name, kind in (("slow_threshold_ms", float), ("default_source", str)):
        if name in values:
            values[name] = _convert(values[name], kind, f"{config_file}: {name}")
    forecast = _forecast_options(raw.get("forecast", {}), config_file)
    return Settings(
        home=home, landing_dir=landing, catalog_url=catalog_url, forecast=forecast, **values
    )


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
        options = replace(options, **{key: value})
    return options
