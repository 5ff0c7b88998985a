"""`make eval`: the realkpi loader, the reference detectors and the evaluation's output, on tiny
series written here (the real corpora are never needed)."""

import gzip

import numpy as np
import pandas as pd
import pytest

from bench import detectors, realkpi
from bench.evaluate import main

HOUR = pd.Timedelta(hours=1)


def write_series(path, times, values, labels) -> None:
    lines = ["timestamp,value,label"]
    lines += [
        f"{t:%Y-%m-%dT%H:%M:%SZ},{v},{int(lab)}"
        for t, v, lab in zip(times, values, labels, strict=True)
    ]
    with gzip.open(path, "wt") as out:
        out.write("\n".join(lines) + "\n")


def hourly(values, start="2024-03-01") -> pd.DataFrame:
    ds = pd.date_range(start, periods=len(values), freq="h", tz="UTC")
    return pd.DataFrame({"ds": ds, "y": np.asarray(values, dtype="float64")})


# --- the loader ------------------------------------------------------------------------------


def test_the_loader_reads_a_gzip_series_with_gaps_and_takes_the_median_step(tmp_path):
    times = pd.to_datetime(
        ["2024-01-01 00:00", "2024-01-01 00:05", "2024-01-01 00:10", "2024-01-01 01:00",
         "2024-01-01 01:05"], utc=True
    )  # fmt: skip
    folder = tmp_path / "realkpi"
    folder.mkdir()
    write_series(folder / "iops_x.csv.gz", times, [1, 2.5, -3, 4, 5], [0, 0, 1, 1, 0])

    (series,) = realkpi.load_realkpi(tmp_path)

    assert series.name == "iops_x"
    assert series.step == pd.Timedelta(minutes=5)
    assert list(series.frame.columns) == ["ds", "y", "label"]
    assert series.frame["ds"].dt.tz is not None
    assert (series.frame["ds"] == times).all()
    assert series.frame["y"].tolist() == [1.0, 2.5, -3.0, 4.0, 5.0]
    assert series.frame["label"].tolist() == [False, False, True, True, False]
    assert series.rows == 5 and not series.sliced
    first = realkpi.head(series, 2)
    assert len(first.frame) == 2 and first.sliced and first.step == series.step


def test_the_loader_names_the_file_and_line_of_a_time_going_backwards(tmp_path):
    path = tmp_path / "bad.csv.gz"
    times = pd.to_datetime(["2024-01-01 00:00", "2024-01-01 00:01", "2024-01-01 00:00"], utc=True)
    write_series(path, times, [1, 2, 3], [0, 0, 0])
    with pytest.raises(ValueError, match=r"bad\.csv\.gz, line 4: timestamps must be strictly"):
        realkpi.load_series(path)


def test_the_eval_directory_is_the_environment_s_else_beside_the_repository(tmp_path):
    assert realkpi.eval_dir({"LOGCAST_EVAL_DIR": str(tmp_path)}) == tmp_path
    assert realkpi.eval_dir({}) == realkpi.REPO_ROOT.parent / "shared" / "eval"


def test_a_missing_realkpi_folder_is_one_sentence_naming_where_it_looked(tmp_path):
    message = realkpi.missing_message(tmp_path)
    assert str(tmp_path / "realkpi") in message
    assert message.count(". ") == 0 and message.endswith(".")
    (tmp_path / "realkpi").mkdir()
    write_series(tmp_path / "realkpi" / "a.csv.gz", pd.date_range("2024", periods=2, freq="h"),
                 [1, 2], [0, 0])  # fmt: skip
    assert realkpi.missing_message(tmp_path) is None


def test_only_realkpi_without_the_corpus_says_so_and_scores_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LOGCAST_EVAL_DIR", str(tmp_path))
    assert main(["--only", "realkpi", "--workers", "1"]) == 1
    out = capsys.readouterr().out
    assert f"no labelled series (*.csv.gz) found in {tmp_path / 'realkpi'}" in out
    assert "exit code 1" in out


# --- the reference detectors -----------------------------------------------------------------


def test_never_scores_no_row():
    assert np.isnan(detectors.never(hourly(np.arange(50)), HOUR)).all()


def test_zscore_of_a_constant_series_flags_only_its_spike():
    values = np.full(24 * 10, 5.0)
    values[24 * 8] = 50.0
    score = detectors.zscore(hourly(values), HOUR)

    assert np.isnan(score[:24]).all()  # a day of history first
    assert np.isfinite(score[24:]).all()  # a std of 0 gives no inf
    assert int(np.nanargmax(score)) == 24 * 8 and score[24 * 8] > 1e6
    rest = np.delete(score[24:], 24 * 7)
    assert (rest < 1).all()


def test_zscore_uses_the_seven_days_strictly_before_each_row_on_time_not_rows():
    rng = np.random.default_rng(1)
    ds = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(
        np.cumsum(rng.integers(1, 600, 400)), unit="min"
    )  # irregular steps: gaps of up to 10 hours
    y = rng.normal(10, 2, len(ds))
    score = detectors.zscore(pd.DataFrame({"ds": ds, "y": y}), pd.Timedelta(minutes=30))

    for i in range(len(ds)):
        window = y[(ds >= ds[i] - pd.Timedelta(days=7)) & (ds < ds[i])]
        if ds[i] < ds[0] + pd.Timedelta(days=1) or len(window) < 2:
            assert np.isnan(score[i])
        else:
            expected = abs(y[i] - window.mean()) / window.std(ddof=1)
            assert score[i] == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("name", ["zscore", "never"])
def test_a_reference_never_looks_ahead(name):
    rng = np.random.default_rng(3)
    values = rng.normal(100, 5, 24 * 9)
    before = detectors.DETECTORS[name](hourly(values), HOUR)
    values[24 * 6 :] += 1000
    after = detectors.DETECTORS[name](hourly(values), HOUR)
    np.testing.assert_array_equal(before[: 24 * 6], after[: 24 * 6])


def test_logcast_takes_walk_forward_s_surprise_when_it_has_one(monkeypatch):
    def fake_walk_forward(series, *, freq, **options):
        out = series.copy()
        out["yhat"] = [np.nan, 1.0, 1.0]
        out["score"] = [0.0, 0.5, 1.0]
        out["surprise"] = [0.0, 2.0, 9.0]
        out["is_anomaly"] = [False, False, True]
        return out

    monkeypatch.setattr(detectors, "walk_forward", fake_walk_forward)
    score, flags = detectors.logcast_scored(hourly([1, 2, 3]), HOUR)
    np.testing.assert_array_equal(score, [np.nan, 2.0, 9.0])  # no forecast: not scored
    assert flags.tolist() == [False, False, True]


def test_logcast_scores_every_row_with_history_and_never_looks_ahead():
    rng = np.random.default_rng(5)
    values = rng.poisson(200, 48).astype(float)  # two days: the cold-start baseline, no Prophet
    before = detectors.logcast(hourly(values), HOUR)
    values[40:] = 5.0
    after = detectors.logcast(hourly(values), HOUR)
    assert len(before) == 48 and np.isfinite(before[24:]).all()
    np.testing.assert_array_equal(before[:40], after[:40])
    assert np.nanmax(after[40:]) > np.nanmax(before[40:])


@pytest.mark.slow  # imports Prophet and fits it three times
def test_prophet_scores_from_day_three_on_flags_a_spike_and_never_looks_ahead():
    rng = np.random.default_rng(7)
    hours = np.arange(24 * 6)
    values = 100 + 20 * np.sin(2 * np.pi * hours / 24) + rng.normal(0, 2, len(hours))
    values[24 * 5 + 6] += 60
    score = detectors.prophet(hourly(values), HOUR)

    assert np.isnan(score[: 24 * 3]).all() and np.isfinite(score[24 * 3 :]).all()
    assert int(np.nanargmax(score)) == 24 * 5 + 6 and score[24 * 5 + 6] > 1
    assert np.mean(score[24 * 3 :] < 1) > 0.9  # most rows inside the 99 % interval

    later = values.copy()
    later[24 * 5 :] += 500
    np.testing.assert_array_equal(detectors.prophet(hourly(later), HOUR)[: 24 * 5], score[: 24 * 5])


# --- the evaluation's output -----------------------------------------------------------------


def test_realkpi_prints_one_table_with_every_detector_and_the_per_series_lines(
    tmp_path, monkeypatch, capsys
):
    folder = tmp_path / "realkpi"
    folder.mkdir()
    rng = np.random.default_rng(11)
    times = pd.date_range("2024-05-01", periods=60, freq="h")
    spiky = rng.normal(50, 3, 60)
    spiky[40:43] += 40
    labels = np.zeros(60, dtype=bool)
    labels[40:43] = True
    write_series(folder / "mscmd_spiky.csv.gz", times, spiky.round(3), labels)
    write_series(folder / "mscmd_quiet.csv.gz", times, rng.normal(50, 3, 60).round(3), labels & 0)
    monkeypatch.setenv("LOGCAST_EVAL_DIR", str(tmp_path))

    assert main(["--only", "realkpi", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "== realkpi: 2 series" in out
    table = out.split("== realkpi")[1]
    for detector in ("logcast", "prophet", "zscore", "never"):
        assert any(line.startswith(detector) for line in table.splitlines())
    assert "best F1" in table and "no-anomaly" in table and "s / 10k points" in table
    assert "per series: logcast" in table
    assert any(line.startswith("mscmd_quiet ") for line in table.splitlines())


@pytest.mark.slow  # six synthetic days, fitted and scored by every detector
def test_the_evaluation_scores_synthetic_data_alone(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LOGCAST_EVAL_DIR", str(tmp_path))
    args = ["--only", "synthetic", "--days", "6", "--endpoints", "3", "--seed", "3"]
    assert main([*args, "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "== synthetic" in out and "== realkpi" not in out
    assert "people's word" not in out and "as the pipeline groups them" not in out
    for line in ("recall", "precision", "F1", "median detection delay", "targets:"):
        assert line in out
    assert "labelled incidents" in out and "per kind" in out


# --- people's word ---------------------------------------------------------------------------


def test_the_feedback_section_counts_what_people_said_of_the_home_s_incidents(
    tmp_path, monkeypatch, capsys
):
    from flows.ingest import catalog_for
    from flows.settings import load_settings
    from schemas.forecasts import Incident
    from tests.transforms.test_feedback import incident
    from warehouse.layout import Layout, partition_of

    monkeypatch.setenv("LOGCAST_HOME", str(tmp_path))
    assert main(["--only", "feedback"]) == 0
    assert "no incidents in" in capsys.readouterr().out

    settings = load_settings()
    start = pd.Timestamp("2026-11-03T10:00:00Z")
    rows = [incident("shop", f"/e{i}", start + i * HOUR, 1, status="resolved") for i in range(3)]
    frame = pd.DataFrame(rows).assign(endpoints=lambda f: f["endpoint"], impact="", attribution="")
    path = Layout(settings.warehouse_dir).part_file("incidents", partition_of("incidents", start))
    path.parent.mkdir(parents=True)
    Incident.validate(frame).to_parquet(path)
    catalog = catalog_for(settings.catalog_url)
    catalog.record_feedback(rows[0]["incident_id"], "ack")
    catalog.record_feedback(rows[1]["incident_id"], "false-alarm", "a load test")
    assert main(["--only", "feedback"]) == 0
    out = capsys.readouterr().out
    assert "evaluation (" not in out  # nothing is scored
    lines = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    # service incidents confirmed false_alarms muted no_word precision fa/week weeks
    assert lines["shop"][1:7] == ["3", "1", "1", "0", "1", "0.50"]
    assert lines["(all)"][1:4] == ["3", "1", "1"]
