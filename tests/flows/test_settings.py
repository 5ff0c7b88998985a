import subprocess
from pathlib import Path

import pandas as pd
import pytest

from flows.settings import SettingsError, load_settings
from tests.helpers import LOGCAST, quiet_env

pytestmark = pytest.mark.clock


def test_defaults_live_under_dot_logcast(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.home == tmp_path / ".logcast"
    assert settings.landing_dir == tmp_path / ".logcast" / "landing"
    assert settings.catalog_url == f"sqlite:///{tmp_path / '.logcast' / 'catalog.db'}"
    assert settings.slow_threshold_ms == 1000.0
    assert settings.forecast.interval_width == 0.99
    assert settings.forecast.template_series == 20
    assert settings.forecast.template_min_history_days == 1.0


def test_toml_then_environment_take_precedence(tmp_path):
    config = tmp_path / "logcast.toml"
    config.write_text(
        'home = "data"\nslow_threshold_ms = 500\n[forecast]\nthreshold = 0.95\ntraining_days = 14\n'
        "template_series = 5\n"
    )
    settings = load_settings(environ={}, config_file=config)
    assert settings.home == tmp_path / "data"
    assert settings.slow_threshold_ms == 500.0
    assert settings.forecast.threshold == 0.95 and settings.forecast.training_days == 14
    assert settings.forecast.template_series == 5
    env = {"LOGCAST_HOME": str(tmp_path / "elsewhere"), "LOGCAST_SLOW_THRESHOLD_MS": "250"}
    overridden = load_settings(environ=env, config_file=config)
    assert overridden.home == tmp_path / "elsewhere"
    assert overridden.landing_dir == tmp_path / "elsewhere" / "landing"
    assert overridden.slow_threshold_ms == 250.0


def test_config_file_named_by_environment(tmp_path):
    config = tmp_path / "other.toml"
    config.write_text('landing_dir = "/srv/logs"\n')
    settings = load_settings(environ={"LOGCAST_CONFIG": str(config)})
    assert settings.landing_dir == Path("/srv/logs")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("homme = 'x'\n", "unknown setting 'homme'"),
        ("[forecast]\nthreshhold = 1\n", "unknown setting 'forecast.threshhold'"),
        ("slow_threshold_ms = 'fast'\n", "slow_threshold_ms: expected a float, got 'fast'"),
        ("home = \n", "not valid TOML"),
        ("[forecast]\nholidays_country = 'XX'\n", "forecast.holidays_country: .*'XX' is not"),
        ("[forecast]\ninterval_width = 1.5\n", "forecast.interval_width: .*between 0 and 1"),
        ("[forecast]\ntemplate_series = -1\n", "forecast.template_series: .*0 or more, got -1"),
        ("[forecast]\ntemplate_series = 'all'\n", "template_series: expected a int, got 'all'"),
        (
            "[forecast]\ntemplate_min_history_days = -2\n",
            "forecast.template_min_history_days: .*0 or more",
        ),
    ],
)
def test_bad_config_names_the_file_and_the_setting(tmp_path, text, message):
    config = tmp_path / "logcast.toml"
    config.write_text(text)
    with pytest.raises(SettingsError, match=message) as info:
        load_settings(environ={}, config_file=config)
    assert str(config) in str(info.value)


def test_bad_environment_value_is_named(tmp_path):
    with pytest.raises(SettingsError, match="LOGCAST_SLOW_THRESHOLD_MS: expected a float"):
        load_settings(
            environ={"LOGCAST_SLOW_THRESHOLD_MS": "slow"}, config_file=tmp_path / "none.toml"
        )


def test_missing_named_config_is_an_error(tmp_path):
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(environ={"LOGCAST_CONFIG": str(tmp_path / "missing.toml")})


def test_sources_choose_files_by_pattern_and_carry_their_rules(tmp_path):
    config = tmp_path / "logcast.toml"
    config.write_text(
        """
landing_dir = "landing"
[sources.docs]
paths = ["docs/*.csv"]
format = "csv"
max_bad_fraction = 0.05
max_endpoints = 50
fold_variety = 20
mapping = { ts = "when", path = "url", latency_ms = { column = "secs", unit = "s" } }
endpoint_rules = [{ pattern = "^/v[0-9]+/", replacement = "/" }]
"""
    )
    settings = load_settings(environ={}, config_file=config)
    docs = settings.source_for(tmp_path / "landing" / "docs" / "a.csv")
    assert docs.name == "docs" and docs.format == "csv" and docs.max_bad_fraction == 0.05
    assert docs.mapping == (
        ("ts", "when", None),
        ("path", "url", None),
        ("latency_ms", "secs", "s"),
    )
    assert docs.endpoint_rules == (("^/v[0-9]+/", "/"),) and docs.max_endpoints == 50
    assert docs.fold_variety == 20 and docs.encoding == "utf-8"
    other = settings.source_for(tmp_path / "landing" / "api-1.csv")
    assert other.name == "api" and other.format == "auto" and other.max_bad_fraction == 1.0
    assert other.fold_variety == 100


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[sources.a]\nformt = 'csv'\n", "sources.a: unknown setting 'formt'"),
        ("[sources.a]\nmax_bad_fraction = 2\n", "max_bad_fraction: expected 0..1"),
        ("[sources.a]\nendpoint_rules = [{ pattern = '(' , replacement = 'x' }]\n", "bad pattern"),
        ("[sources.a]\nmapping = { ts = 3 }\n", "sources.a.mapping.ts: expected a column name"),
        ("[sources.a]\ndimensions = 'region'\n", "sources.a.dimensions: expected a list"),
        ("earliest_event = 'long ago'\n", "earliest_event .*expected a date such as 1995-01-01"),
        ("earliest_event = 1960-01-01\n", "earliest_event .*expected a date from 1970-01-01"),
        ("[sources.a]\nfold_variety = -1\n", r"sources.a.fold_variety: expected 0 \(never fold\)"),
        ("[sources.a]\nfold_variety = 'many'\n", "sources.a.fold_variety: expected a int"),
        ("[sources.a]\nencoding = 'klingon'\n", "sources.a.encoding: unknown text encoding"),
        ("[sources.a]\nencoding = 8859\n", "sources.a.encoding: unknown text encoding"),
        ("[sources.a]\nencoding = 'base64'\n", "sources.a.encoding: unknown text encoding"),
    ],
)
def test_bad_source_settings_are_named(tmp_path, text, message):
    config = tmp_path / "logcast.toml"
    config.write_text(text)
    with pytest.raises(SettingsError, match=message):
        load_settings(environ={}, config_file=config)


def test_earliest_event_and_dimensions_are_settings(tmp_path):
    config = tmp_path / "logcast.toml"
    config.write_text(
        'earliest_event = 1995-01-01\n[sources.docs]\ndimensions = ["document_type", "tier"]\n'
    )
    settings = load_settings(environ={}, config_file=config)
    assert settings.earliest_event == pd.Timestamp("1995-01-01", tz="UTC")
    assert settings.dimensions == {"docs": ("document_type", "tier")}
    env = {"LOGCAST_EARLIEST_EVENT": "2001-09-01T00:00:00+02:00"}
    earliest = load_settings(environ=env, config_file=config).earliest_event
    assert earliest == pd.Timestamp("2001-08-31T22:00:00Z")
    assert load_settings(environ={}, config_file=tmp_path / "none.toml").earliest_event == (
        pd.Timestamp("1990-01-01", tz="UTC")
    )


def test_lateness_and_holidays_are_settings(tmp_path):
    config = tmp_path / "logcast.toml"
    config.write_text('lateness_minutes = 20\n[forecast]\nholidays_country = "GB"\n')
    settings = load_settings(environ={}, config_file=config)
    assert settings.lateness_minutes == 20 and settings.forecast.holidays_country == "GB"
    assert settings.forecast.totals is True
    env = {"LOGCAST_LATENESS_MINUTES": "0"}
    assert load_settings(environ=env, config_file=config).lateness_minutes == 0


@pytest.mark.parametrize(
    ("scheduled", "lateness", "hour"),
    [
        ("2026-11-03T13:05Z", 5, "2026-11-03T12:00Z"),
        ("2026-11-03T13:04Z", 5, "2026-11-03T11:00Z"),  # 12:00-13:00 closed under 5 min ago
        ("2026-11-03T13:05Z", 20, "2026-11-03T11:00Z"),
        ("2026-11-04T00:05Z", 5, "2026-11-03T23:00Z"),
    ],
)
def test_a_scheduled_hourly_run_scores_the_newest_hour_closed_long_enough(
    scheduled, lateness, hour
):
    from flows.pipeline import hour_to_score

    assert hour_to_score(pd.Timestamp(scheduled), lateness) == pd.Timestamp(hour)


@pytest.mark.parametrize(
    "rule, message",
    [
        (
            'name = "r"\nmetric = "latency"\nabove = 1',
            r"rule 1 \('r'\): metric: unknown metric 'latency'; expected one of bytes_sent, ",
        ),
        ('name = "r"\nmetric = "requests"', "expected exactly one of above = NUMBER or below"),
        (
            'name = "r"\nmetric = "requests"\nabove = 1\nbelow = 0',
            "expected exactly one of above",
        ),
        ('name = "r"\nmetric = "requests"\nabove = 1\nfor = "ten"', "for: expected a duration"),
        ('name = "r"\nmetric = "requests"\nabove = 1\nfor = "90m"', "must be whole hours"),
        (
            'name = "r"\nmetric = "unique_users"\nabove = 1\nfor = "5m"',
            "metric 'unique_users' is hourly only",
        ),
        (
            'name = "r"\nmetric = "requests"\nabove = 1\nseverity = "urgent"',
            "severity: expected one of low, medium, high, critical, got 'urgent'",
        ),
        ('metric = "requests"\nabove = 1', r"rule 1: name: expected a non-empty text"),
        ('name = "r"\nmetric = "requests"\nabove = "many"', "above: expected a number"),
        ('name = "r"\nmetric = "requests"\nabove = 1\nwhen = 2', "unknown key 'when'"),
        (
            'name = "r"\nmetric = "errors"\nabove = 1\nfor = "1h"',
            "metric 'errors' is minutely only",
        ),
    ],
)
def test_a_bad_rule_fails_on_load_naming_the_file_and_the_rule(tmp_path, rule, message):
    config = tmp_path / "logcast.toml"
    config.write_text(f"[[rules]]\n{rule}\n")
    with pytest.raises(SettingsError, match=message) as caught:
        load_settings({}, config)
    assert str(caught.value).startswith(f"{config}: rule 1")


def test_rules_load_and_names_are_unique(tmp_path):
    config = tmp_path / "logcast.toml"
    one = '[[rules]]\nname = "p95"\nmetric = "latency_p95_ms"\nabove = 800\nfor = "10m"\n'
    config.write_text(one)
    (rule,) = load_settings({}, config).rules
    assert (rule.name, rule.metric, rule.threshold, rule.above, rule.steps, rule.minutely) == (
        "p95", "latency_p95_ms", 800.0, True, 10, True,
    )  # fmt: skip
    config.write_text(one + one)
    with pytest.raises(SettingsError, match=r"rule 2 \('p95'\): another rule has this name"):
        load_settings({}, config)


@pytest.mark.e2e
def test_a_bad_rule_stops_the_command_with_one_sentence(tmp_path):
    (tmp_path / "logcast.toml").write_text(
        '[[rules]]\nname = "checkout p95"\nmetric = "latency_p95_ms"\nabove = 800\n'
        'for = "10m"\nseverity = "urgent"\n'
    )
    done = subprocess.run(
        [LOGCAST, "backfill", "--start", "2026-11-01", "--end", "2026-11-01"],
        env=quiet_env(LOGCAST_HOME=str(tmp_path / "home")),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "logcast: error: logcast.toml: rule 1 ('checkout p95'): severity: expected one of "
        "low, medium, high, critical, got 'urgent'"
    ]
