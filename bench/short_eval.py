"""`make eval`'s section on minute-grain episodes (`transforms.short`, anomalies of kind
`short`), run after the detector tables.

synthetic
    Request logs for several endpoints with labelled short outages (every request of the
    endpoint fails to arrive for 5 to 15 minutes) and short spikes (3x the traffic for 5 to 15
    minutes) inside otherwise incident-free days (`transforms.synthetic`, kinds
    `short_outage` and `short_spike`), turned into `endpoint_minutely` by the warehouse
    transform. The expected level of each hour is the generator's own hourly rate (the true
    traffic, not a forecast): this section measures the minute-grain judgement, not the
    forecast. Printed: the recall of the short outages and of the spikes (an episode is found
    when a `short:requests` anomaly of its direction falls in its hour or, for one running over
    the hour's end, the next), and the false short anomalies per endpoint-week on the hours
    without an episode.
realkpi
    The real 1-minute series of `$LOGCAST_EVAL_DIR/realkpi` (request, ingress and similar rates
    from the AIOps Challenge 2018 and Microsoft's Cloud Monitoring Dataset), each value taken
    as a minute's count. The expected level of an hour is the mean of the same hour the day
    before (a crude forecast: it is off more than the pipeline's). False alarms are counted on
    the hours that are fully observed and labelled normal (with the minutes before them a run
    may start in), per series-week. Then, on such hours at least 25 hours apart (so that none is in the day
    before another, where it would be a precedent), a 5-minute full outage (the value set to 0)
    and a 5-minute tripling are injected at a random minute of the hour (one kind at a time;
    four passes, each starting 6 hours later), and the share found is printed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bench import realkpi
from transforms.forecast import walk_forward
from transforms.metrics import hourly_tables
from transforms.short import LOOKBACK, MINUTES, short_anomalies, short_metric
from transforms.synthetic import SHORT_KINDS, synthetic_requests

HOUR = pd.Timedelta(hours=1)
MINUTE = pd.Timedelta(minutes=1)
WEEK_HOURS = 168
SPACING = pd.Timedelta(hours=25)
"""Injected episodes are this far apart, so none is in the context (the day before) of another,
where it would be a precedent that makes the next look routine."""
PASSES = 4
PASS_SHIFT = pd.Timedelta(hours=6)
INJECT_MINUTES = 5
RECALL_TARGET = 0.9
BUSY_LEVEL = 10.0
"""A real series' mean a minute from which a 5-minute outage is plainly more than its noise."""
SYNTHETIC_START = pd.Timestamp("2026-10-01", tz="UTC")
SYNTHETIC_TRAFFIC = 10.0
"""The synthetic endpoints' traffic factor: peaks of 400 to 4,000 requests an hour (7 to 70 a
minute), busy enough that 5 minutes without a request is news (at the default factor's 1 a
minute, five empty minutes happen every few hours)."""
QUICK = {"days": 14, "endpoints": 4}


@dataclass
class SyntheticResult:
    days: int
    endpoints: int
    episodes: pd.DataFrame  # the labels, with found (bool) and forecast (bool)
    false_alarms: int
    clean_hours: int
    seconds: float
    judged_hours: int


def synthetic_section(days: int, endpoints: int, seed: int) -> SyntheticResult:
    """Short outages and spikes in synthetic logs, judged by the short detector against the
    pipeline's own hourly requests forecast (`walk_forward`, trained only on hours before)."""
    events, labels = synthetic_requests(
        start=SYNTHETIC_START,
        days=days,
        endpoints=endpoints,
        seed=seed,
        kinds=tuple(SHORT_KINDS),
        traffic=SYNTHETIC_TRAFFIC,
    )
    tables = hourly_tables(
        events.rename(columns={"timestamp": "ts", "response_time_ms": "latency_ms"})
    )
    hourly, minutely = tables["endpoint_hourly"], tables["endpoint_minutely"]
    parts = []
    for (service, endpoint), rows in hourly.groupby(["service", "endpoint"], sort=True):
        scored = walk_forward(
            pd.DataFrame({"ds": rows["hour_start"], "y": rows["requests"]}),
            freq="h",
            kind="count",
        ).dropna(subset=["yhat"])
        parts.append(
            pd.DataFrame(
                {
                    "hour_start": scored["ds"],
                    "service": service,
                    "endpoint": endpoint,
                    "metric": "requests",
                    "yhat": scored["yhat"],
                    "yhat_lower": scored["yhat_lower"],
                    "yhat_upper": scored["yhat_upper"],
                }
            )
        )
    forecasts = pd.concat(parts, ignore_index=True)
    began = time.perf_counter()
    hours = pd.DatetimeIndex(sorted(forecasts["hour_start"].unique()))
    found = short_anomalies(minutely, forecasts, hours=hours)
    seconds = time.perf_counter() - began
    found = found[found["metric"] == short_metric("requests")]
    flagged = set(zip(found["endpoint"], found["hour_start"], found["direction"], strict=True))
    forecast_hours = set(zip(forecasts["endpoint"], forecasts["hour_start"], strict=True))
    shorts = labels[labels["kind"].isin(list(SHORT_KINDS))].copy()
    direction = shorts["kind"].map({"short_outage": "drop", "short_spike": "spike"})
    touched = [
        list(pd.date_range(s, e, freq="h", inclusive="left"))
        for s, e in zip(shorts["start"], shorts["end"], strict=True)
    ]
    shorts["found"] = [
        any((ep, h, d) in flagged for h in hs)
        for ep, hs, d in zip(shorts["endpoint"], touched, direction, strict=True)
    ]
    shorts["forecast"] = [
        all((ep, h) in forecast_hours for h in hs)
        for ep, hs in zip(shorts["endpoint"], touched, strict=True)
    ]
    # false alarms: short anomalies of the hours no episode touches (nor the hour after one)
    near = {(ep, h + HOUR * k) for ep, hs in zip(shorts["endpoint"], touched, strict=True)
            for h in hs for k in (0, 1)}  # fmt: skip
    clean = [(ep, h) for ep, h in forecast_hours if (ep, h) not in near]
    false_alarms = sum((ep, h) not in near for ep, h, _ in flagged)
    return SyntheticResult(
        days, endpoints, shorts, false_alarms, len(clean), seconds, len(forecast_hours)
    )


def synthetic_text(result: SyntheticResult) -> str:
    shorts = result.episodes
    judged = shorts[shorts["forecast"]]
    lines = [
        f"{len(shorts)} short episodes of 5 to 15 minutes in {result.days} days x "
        f"{result.endpoints} endpoints (traffic x{SYNTHETIC_TRAFFIC:g}); "
        f"{len(shorts) - len(judged)} before the first forecast, not judged",
    ]
    for kind in SHORT_KINDS:
        own = judged[judged["kind"] == kind]
        recall = own["found"].mean() if len(own) else np.nan
        target = f"  (target >= {RECALL_TARGET})" if kind == "short_outage" else ""
        lines.append(
            f"{kind:<13} recall {recall:.2f} ({int(own['found'].sum())} of {len(own)}){target}"
        )
    weeks = result.clean_hours / WEEK_HOURS
    lines.append(
        f"false short anomalies: {result.false_alarms} in {result.clean_hours:,} endpoint-hours "
        f"without an episode, {result.false_alarms / weeks:.2f} per endpoint-week"
    )
    lines.append(
        f"detector time: {result.seconds:.2f} s for {result.judged_hours:,} endpoint-hours "
        f"({result.seconds * 1000 / max(result.judged_hours, 1):.2f} ms each)"
    )
    missed = judged[~judged["found"]]
    if len(missed):
        lines.append("missed:")
        for row in missed.itertuples():
            lines.append(
                f"  {row.endpoint}  {row.kind}  {row.episode_start:%Y-%m-%d %H:%M} - "
                f"{row.episode_end:%H:%M}"
            )
    return "\n".join(lines)


@dataclass
class RealResult:
    name: str
    level: float  # mean value a minute
    normal_hours: int
    false_alarms: int
    outages: int
    outages_found: int
    spikes: int
    spikes_found: int
    seconds: float


def minute_grid(series: realkpi.KpiSeries) -> pd.DataFrame | None:
    """The series on a full minute grid of whole hours: y (gaps filled linearly, for the
    noise the detector measures), observed (false in a gap) and label; None when it is not
    a 1-minute series of non-negative values."""
    if series.step != MINUTE:
        return None
    frame = series.frame.dropna(subset=["y"])
    if frame.empty or (frame["y"] < 0).any():
        return None
    first = frame["ds"].iloc[0].ceil("h")
    last = frame["ds"].iloc[-1].floor("h")
    grid = pd.date_range(first, last, freq="min", inclusive="left")
    if len(grid) < 3 * 24 * MINUTES:
        return None
    indexed = frame.set_index("ds").reindex(grid)
    out = pd.DataFrame(index=grid)
    out["observed"] = indexed["y"].notna().to_numpy()
    out["y"] = indexed["y"].interpolate(limit_direction="both").to_numpy()
    out["label"] = indexed["label"].fillna(False).astype(bool).to_numpy()
    return out


def normal_hours(grid: pd.DataFrame) -> pd.DatetimeIndex:
    """Hours from the second day on whose minutes (and the LOOKBACK before) are all observed
    and labelled normal, and whose same hour the day before is observed."""
    ok = (grid["observed"] & ~grid["label"]).to_numpy()
    n_hours = len(grid) // MINUTES
    hourly = ok[: n_hours * MINUTES].reshape(n_hours, MINUTES).all(axis=1)
    before = np.zeros(n_hours, dtype=bool)
    flat = ok[: n_hours * MINUTES]
    tail = flat.reshape(n_hours, MINUTES)[:, -LOOKBACK:].all(axis=1)
    before[1:] = tail[:-1]
    observed = grid["observed"].to_numpy()[: n_hours * MINUTES].reshape(n_hours, MINUTES)
    yesterday = np.zeros(n_hours, dtype=bool)
    yesterday[24:] = observed[:-24].mean(axis=1) >= 0.5
    chosen = hourly & before & yesterday
    chosen[:24] = False
    hours = pd.date_range(grid.index[0], periods=n_hours, freq="h")
    return hours[chosen]


def previous_day_levels(grid: pd.DataFrame, name: str) -> pd.DataFrame:
    """`forecasts`-like rows: each hour's requests yhat = 60 x the mean minute of the same hour
    the day before (observed minutes only)."""
    y = grid["y"].where(grid["observed"])
    hourly = y.resample("h").mean() * MINUTES
    yhat = hourly.shift(24).dropna()
    return pd.DataFrame(
        {
            "hour_start": yhat.index,
            "service": "realkpi",
            "endpoint": name,
            "metric": "requests",
            "yhat": yhat.to_numpy(),
            "yhat_lower": yhat.to_numpy(),
            "yhat_upper": yhat.to_numpy(),
        }
    )


def minutely_of(grid: pd.DataFrame, y: np.ndarray, name: str) -> pd.DataFrame:
    """endpoint_minutely-like rows of the values (a minute of 0 has no row)."""
    keep = y > 0
    return pd.DataFrame(
        {
            "minute_start": grid.index[keep],
            "service": "realkpi",
            "endpoint": name,
            "requests": y[keep],
            "errors": 0.0,
            "latency_p50_ms": np.nan,
            "latency_p95_ms": np.nan,
        }
    )


def flagged_hours(grid, y, levels, hours, name, direction) -> set:
    found = short_anomalies(minutely_of(grid, y, name), levels, hours=hours)
    found = found[(found["metric"] == short_metric("requests")) & (found["direction"] == direction)]
    return set(found["hour_start"])


def spaced(hours: pd.DatetimeIndex, since: pd.Timestamp) -> pd.DatetimeIndex:
    """Hours of `hours` from `since` on, each at least SPACING after the one taken before."""
    taken, last = [], None
    for hour in hours[hours >= since]:
        if last is None or hour - last >= SPACING:
            taken.append(hour)
            last = hour
    return pd.DatetimeIndex(taken)


def score_real(series: realkpi.KpiSeries, seed: int = 0) -> RealResult | None:
    grid = minute_grid(series)
    if grid is None:
        return None
    began = time.perf_counter()
    hours = normal_hours(grid)
    levels = previous_day_levels(grid, series.name)
    scored = pd.DatetimeIndex(levels["hour_start"])
    y = grid["y"].to_numpy()
    base = short_anomalies(minutely_of(grid, y, series.name), levels, hours=scored)
    base = base[base["metric"] == short_metric("requests")]
    false_alarms = int(base["hour_start"].isin(hours).sum())
    rng = np.random.default_rng(seed)
    found = {"outage": 0, "spike": 0}
    injected_hours = 0
    for shift in range(PASSES):
        targets = spaced(hours, hours[0] + shift * PASS_SHIFT) if len(hours) else hours
        injected_hours += len(targets)
        offsets = rng.integers(0, MINUTES - INJECT_MINUTES + 1, len(targets))
        position = ((targets - grid.index[0]) / MINUTE).astype(int).to_numpy() + offsets
        for kind, direction, change in (("outage", "drop", 0.0), ("spike", "spike", 3.0)):
            injected = y.copy()
            for p in position:
                injected[p : p + INJECT_MINUTES] *= change
            hit = flagged_hours(grid, injected, levels, scored, series.name, direction)
            found[kind] += sum(t in hit for t in targets)
    targets = [None] * injected_hours
    return RealResult(
        series.name,
        float(np.nanmean(y)),
        len(hours),
        false_alarms,
        len(targets),
        found["outage"],
        len(targets),
        found["spike"],
        time.perf_counter() - began,
    )


def real_table(results: list[RealResult]) -> str:
    rows = []
    for r in results:
        weeks = r.normal_hours / WEEK_HOURS
        rows.append(
            {
                "series": r.name,
                "mean/min": r.level,
                "normal hours": r.normal_hours,
                "false": r.false_alarms,
                "false / week": r.false_alarms / weeks if weeks else np.nan,
                "outages found": f"{r.outages_found}/{r.outages}",
                "spikes found": f"{r.spikes_found}/{r.spikes}",
            }
        )
    frame = pd.DataFrame(rows)
    total_weeks = sum(r.normal_hours for r in results) / WEEK_HOURS
    false_rate = sum(r.false_alarms for r in results) / total_weeks if total_weeks else np.nan
    outage = sum(r.outages_found for r in results) / max(sum(r.outages for r in results), 1)
    spike = sum(r.spikes_found for r in results) / max(sum(r.spikes for r in results), 1)
    busy = [r for r in results if r.level >= BUSY_LEVEL]
    busy_outage = sum(r.outages_found for r in busy) / max(sum(r.outages for r in busy), 1)
    busy_spike = sum(r.spikes_found for r in busy) / max(sum(r.spikes for r in busy), 1)
    return (
        frame.to_string(index=False, float_format=lambda v: f"{v:.2f}")
        + f"\nall: {false_rate:.2f} false short anomalies per series-week on labelled-normal "
        f"hours; 5-minute outages found {outage:.2f}, 5-minute triplings found {spike:.2f}"
        + f"\nthe {len(busy)} series averaging {BUSY_LEVEL:g} or more a minute: outages found "
        f"{busy_outage:.2f}, triplings found {busy_spike:.2f}"
    )


def realkpi_section(directory, rows: int | None = None) -> list[RealResult]:
    results = []
    for path in realkpi.series_files(directory):
        series = realkpi.head(realkpi.load_series(path), rows)
        result = score_real(series)
        if result is not None:
            results.append(result)
    return results


QUICK_REAL_ROWS = 14_400
"""Leading rows of each real series under --quick (10 days)."""


def section_text(
    only: str | None = None,
    quick: bool = False,
    seed: int = 7,
    days: int | None = None,
    endpoints: int | None = None,
) -> str:
    """The section `bench.evaluate` prints after its tables: synthetic, then realkpi (as
    `only` says; each skipped when the other was asked for, realkpi when it is missing)."""
    began = time.perf_counter()
    parts = ["\n== short episodes (kind short, transforms/short.py)"]
    if only in (None, "synthetic"):
        days = days or (QUICK["days"] if quick else 28)
        endpoints = endpoints or (QUICK["endpoints"] if quick else 8)
        parts.append("-- synthetic, against the hourly requests forecast of walk_forward")
        parts.append(synthetic_text(synthetic_section(days, endpoints, seed)))
    directory = realkpi.eval_dir()
    if only in (None, "realkpi") and realkpi.series_files(directory):
        parts.append("\n-- realkpi 1-minute series, against the same hour the day before")
        parts.append(real_table(realkpi_section(directory, QUICK_REAL_ROWS if quick else None)))
    parts.append(f"(short episodes took {time.perf_counter() - began:.0f} s)")
    return "\n".join(parts)


def print_section(*args, **kwargs) -> None:
    print(section_text(*args, **kwargs))


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.short_eval", description=__doc__)
    parser.add_argument("--only", choices=("synthetic", "realkpi"))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int)
    parser.add_argument("--endpoints", type=int)
    args = parser.parse_args()
    print_section(args.only, args.quick, args.seed, args.days, args.endpoints)
