"""`make eval`: how well logcast's detector finds labelled anomalies, side by side with three
reference detectors (bench.detectors: prophet, zscore, never), on two datasets in one run.

synthetic
    28 days of request logs for 8 endpoints with labelled incidents of six kinds (latency
    spike, error burst, traffic drop, slow latency drift, full outage, extra load on the daily
    peak), turned into `endpoint_hourly` by the warehouse transforms. Every detector scores
    each (endpoint, metric) series (requests, error_rate, latency_p95_ms); logcast runs as the
    flows run it, with the metric's kind and the request counts. For the table a series is an
    endpoint: its score in an hour is the highest of its three metrics' scores, and its label
    is true during its labelled incidents. The incident-level section (recall, precision, F1,
    median detection delay of logcast's own `is_anomaly` flags) and its targets stay: an alarm
    is one endpoint's flagged hours (any metric) merged when at most an hour apart; it is true
    when it overlaps an incident of its endpoint or the two hours after one (recovery).
realkpi
    Real labelled service KPIs from `$LOGCAST_EVAL_DIR/realkpi/*.csv.gz` (default
    `../shared/eval` beside the repository; see its SOURCES.md): 18 AIOps Challenge 2018 (IOPS)
    series and the 60 of Microsoft's Cloud Monitoring Dataset, at 1 minute, 5 minutes or 1 hour.
    To fit the run in 15 minutes on two cores, the 1-minute IOPS series (100,000 to 150,000
    rows each) are scored on their first 14,400 rows (10 days): on that grid Prophet, in
    logcast and in the reference, refits daily on about 5,000 points. The 5-minute IOPS series
    and the MS CMD series are scored whole.
    When the folder holds no series, one sentence says where it looked and the synthetic set is
    still scored.
short episodes
    The minute-grain detector (bench.short_eval, transforms/short.py): recall of synthetic
    5-15 minute outages and spikes and its false alarms, then its false alarms on realkpi's
    1-minute series (with --only synthetic or realkpi, that part alone).
incidents
    The pipeline's own incidents (bench.grouping): 14 days of synthetic logs for 8 endpoints
    (not part of --quick; `--only incidents --quick`: 7 days) with the default kinds and
    errors of one region, through `logcast backfill` in a temporary home; per injected event
    the incidents it opened (one is the target: a service total or a sibling endpoint opening
    another is a duplicate), whether the
    probable cause names its culprit (a 5xx status or the class 5xx for an error burst, the
    region and status 503 for errors of one region), and the incidents no event explains.
feedback
    What people said about the incidents of $LOGCAST_HOME's warehouse (bench.feedback): per
    service the incidents confirmed (acked or resolved by hand), marked a false alarm, muted
    or left without a word, and the precision and false alarms per week that gives. Nothing
    is scored; one sentence when the home has no incidents.

The table (transforms.evaluation): the window score of the standard, low_fp and low_fn
profiles (0 = never firing, 100 = perfect, each at the threshold best for that profile); the
best point-adjusted F1 with its precision and recall; false alarm episodes per series-week at
the standard profile's threshold, over all series and over the series without any labelled
anomaly; and the detector's seconds per 10,000 points (wall clock in its worker, and CPU
including its Stan processes). Then, per series, logcast against the reference with the best
standard score: label windows, windows detected and false alarm episodes, each detector at its
own standard threshold.

`--quick` scores a fixed subset: synthetic 14 days, 4 endpoints;
realkpi the seven 5-minute IOPS series (first 14 days each), four hourly MS CMD series with
anomalies (app1-04, app2-05, outbound-12, purchase-05) and the six without any (purchase-01,
outbound-16, ingress-03, mongo-01, mongo-04, unavail-01), the hourly ones on their first 14
days and the 1-minute ones on their first 5 days; the short-episode section on 14 days
for 4 endpoints and the first 10 days of the 1-minute series. Series run in a pool of
`--workers` processes (default: one per core); the short-episode and incidents sections run beside them,
each in a process of its own (inline, after the jobs, with `--workers 1`), so the cores the
jobs leave idle do their work: wall-clock seconds per job then include sharing the cores with
them, CPU seconds do not.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import multiprocessing
import os
import resource
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bench import grouping, realkpi, short_eval
from bench.detectors import DETECTORS, REFERENCES, logcast_scored
from bench.feedback import print_feedback
from transforms.evaluation import (
    PROFILES,
    ScoredSeries,
    alarm_events,
    best_f1,
    false_alarms,
    incident_matches,
    incident_scores,
    label_windows,
    warmup_rows,
    window_score,
)
from transforms.forecast import WalkForwardPlan
from transforms.metrics import hourly_tables
from transforms.synthetic import synthetic_requests

START = pd.Timestamp("2026-10-01", tz="UTC")
TOLERANCE = pd.Timedelta(hours=2)
SYNTHETIC_KINDS = (
    "latency_spike", "error_burst", "traffic_drop", "outage", "latency_drift", "peak_spike",
)  # fmt: skip
"""The synthetic set's six kinds of incident (each a metric's own move; the incidents section
adds errors of one region, whose culprit is a dimension)."""
METRICS = {"requests": "count", "error_rate": "rate", "latency_p95_ms": "log"}
TARGETS = {"recall": 0.9, "precision": 0.8}
DATASETS = ("synthetic", "realkpi", "incidents", "feedback")
MINUTE, FIVE_MINUTES, HOUR = (pd.Timedelta(minutes=m) for m in (1, 5, 60))

IOPS_ROWS = {MINUTE: 10 * 1440}
"""Leading rows of each IOPS series the full run scores, by grid step: 10 days at 1 minute
(the 5-minute ones, about 30 days, are scored whole)."""

QUICK_SYNTHETIC = {"days": 14, "endpoints": 4}
QUICK_SERIES = (
    # the seven 5-minute IOPS series
    "iops_0efb375b-b902-3661-ab23-9a0bb799f4e3",
    "iops_301c70d8-1630-35ac-8f96-bc1b6f4359ea",
    "iops_54350a12-7a9d-3ca8-b81f-f886b9d156fd",
    "iops_a8c06b47-cc41-3738-9110-12df0ee4c721",
    "iops_ab216663-dcc2-3a24-b1ee-2c3e550e06c9",
    "iops_c02607e8-7399-3dde-9d28-8a8da5e5d251",
    "iops_e0747cad-8dc8-38a9-a9ab-855b61f5551d",
    # hourly MS CMD series with anomalies, then the six without any
    "mscmd_app1-04",
    "mscmd_app2-05",
    "mscmd_outbound-12",
    "mscmd_purchase-05",
    "mscmd_purchase-01",
    "mscmd_outbound-16",
    "mscmd_ingress-03",
    "mscmd_mongo-01",
    "mscmd_mongo-04",
    "mscmd_unavail-01",
)
QUICK_ROWS = {MINUTE: 5 * 1440, FIVE_MINUTES: 14 * 288, HOUR: 14 * 24}
"""Leading rows of each --quick series by grid step: 5 days at 1 minute, else 14 days."""


def endpoint_hourly(days: int, endpoints: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    events, labels = synthetic_requests(
        start=START, days=days, endpoints=endpoints, seed=seed, kinds=SYNTHETIC_KINDS
    )
    requests = events.rename(columns={"timestamp": "ts", "response_time_ms": "latency_ms"})
    return hourly_tables(requests)["endpoint_hourly"], labels


# ---------------------------------------------------------------------------------------------
# Jobs: one detector on one series, run in a worker process


@dataclass(frozen=True, eq=False)
class Job:
    """One detector on one series: `frame` has ds and y (and n for logcast on synthetic)."""

    dataset: str
    series: str
    detector: str
    frame: pd.DataFrame
    step: pd.Timedelta
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.dataset, self.series, self.detector

    @property
    def cost(self) -> float:
        """A rough relative cost, to start the longest jobs first."""
        if self.detector not in ("logcast", "prophet") or self.frame.empty:
            return 0.0
        days = (self.frame["ds"].iloc[-1] - self.frame["ds"].iloc[0]) / pd.Timedelta(days=1)
        window = WalkForwardPlan.for_step(self.step).training_window / self.step
        return max(days, 1.0) * (0.1 + min(window, len(self.frame)) / 3000)


@dataclass(frozen=True)
class Result:
    score: np.ndarray
    flags: np.ndarray | None  # logcast's is_anomaly (synthetic only)
    seconds: float  # wall clock
    cpu: float  # CPU of the worker and the processes it waited for (Stan)


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_job(job: Job) -> tuple[tuple[str, str, str], Result]:
    began, cpu = time.perf_counter(), _cpu()
    flags = None
    if job.detector == "logcast":
        score, flags = logcast_scored(job.frame, job.step, **job.options)
        if job.dataset != "synthetic":
            flags = None
    else:
        score = DETECTORS[job.detector](job.frame[["ds", "y"]], job.step)
    return job.key, Result(score, flags, time.perf_counter() - began, _cpu() - cpu)


def run_jobs(jobs: Sequence[Job], workers: int) -> dict[tuple[str, str, str], Result]:
    """Every job, the costliest first, in `workers` processes (in this one for 1)."""
    ordered = sorted(jobs, key=lambda job: -job.cost)
    results: dict[tuple[str, str, str], Result] = {}
    began, reported = time.perf_counter(), time.perf_counter()

    def progress(done: int) -> None:
        nonlocal reported
        now = time.perf_counter()
        if now - reported >= 30 or done == len(ordered):
            reported = now
            print(f"  scored {done} of {len(ordered)} jobs, {now - began:.0f} s", file=sys.stderr)

    if workers <= 1:
        for done, job in enumerate(ordered, start=1):
            key, result = run_job(job)
            results[key] = result
            progress(done)
        return results
    # spawn: a forked copy of a threaded parent can deadlock
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(run_job, job) for job in ordered]
        for done, future in enumerate(as_completed(futures), start=1):
            key, result = future.result()
            results[key] = result
            progress(done)
    return results


# ---------------------------------------------------------------------------------------------
# Datasets: the series the metrics see, and the jobs that score them


@dataclass(frozen=True, eq=False)
class Unit:
    """A series of the metrics: its rows' times and labels, the detector series behind it
    (one for realkpi, an endpoint's three metrics for synthetic) and the points they hold."""

    name: str
    step: pd.Timedelta
    time: np.ndarray
    label: np.ndarray
    parts: tuple[str, ...]
    points: int
    note: str = ""


@dataclass(frozen=True, eq=False)
class Dataset:
    name: str
    units: list[Unit]
    jobs: list[Job]
    description: str
    extra: dict[str, Any] = field(default_factory=dict)


def synthetic_dataset(days: int, endpoints: int, seed: int) -> Dataset:
    hourly, labels = endpoint_hourly(days, endpoints, seed)
    grid = pd.date_range(START, periods=days * 24, freq="h")
    time_ns = grid.tz_localize(None).as_unit("ns").to_numpy()
    units, jobs = [], []
    for (service, endpoint), own in hourly.groupby(["service", "endpoint"], sort=True):
        wide = own.set_index("hour_start").reindex(grid)
        requests = wide["requests"].fillna(0)
        parts = []
        for metric, kind in METRICS.items():
            values = requests if metric == "requests" else wide[metric]
            frame = pd.DataFrame({"ds": grid, "y": values.to_numpy(dtype="float64")})
            frame["n"] = requests.to_numpy(dtype="float64")
            part = f"{service}|{endpoint}|{metric}"
            parts.append(part)
            for detector in DETECTORS:
                options = {"kind": kind} if detector == "logcast" else {}
                data = frame if detector == "logcast" else frame[["ds", "y"]]
                jobs.append(Job("synthetic", part, detector, data, HOUR, options))
        incidents = labels[labels["endpoint"] == endpoint]
        label = np.zeros(len(grid), dtype=bool)
        for incident in incidents.itertuples(index=False):
            label |= (grid >= incident.start) & (grid < incident.end)
        units.append(Unit(endpoint, HOUR, time_ns, label, tuple(parts), len(grid) * len(parts)))
    description = (
        f"{days} days, {endpoints} endpoints x {len(METRICS)} metrics, "
        f"{len(labels)} labelled incidents (seed {seed})"
    )
    return Dataset("synthetic", units, jobs, description, {"labels": labels, "grid": grid})


def realkpi_rows(series: realkpi.KpiSeries, quick: bool) -> int | None:
    """The leading rows a run scores of a series (None: all of them)."""
    if quick:
        return QUICK_ROWS.get(series.step)
    return IOPS_ROWS.get(series.step) if series.name.startswith("iops_") else None


def realkpi_dataset(directory, quick: bool) -> Dataset:
    loaded = realkpi.load_realkpi(directory, QUICK_SERIES if quick else None)
    units, jobs = [], []
    for whole in loaded:
        series = realkpi.head(whole, realkpi_rows(whole, quick))
        frame = series.frame
        note = f"first {len(frame):,} of {series.rows:,} rows" if series.sliced else ""
        time_ns = frame["ds"].dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
        label = frame["label"].to_numpy(dtype=bool)
        units.append(
            Unit(series.name, series.step, time_ns, label, (series.name,), len(frame), note)
        )
        for detector in DETECTORS:
            jobs.append(Job("realkpi", series.name, detector, frame[["ds", "y"]], series.step))
    sliced = sum(bool(unit.note) for unit in units)
    description = f"{len(units)} series from {realkpi.realkpi_dir(directory)}"
    if sliced:
        description += f"; {sliced} scored on a leading slice (see the per-series table)"
    return Dataset("realkpi", units, jobs, description)


def scored_series(
    dataset: Dataset, results: dict[tuple[str, str, str], Result], detector: str
) -> list[ScoredSeries]:
    out = []
    for unit in dataset.units:
        scores = [results[(dataset.name, part, detector)].score for part in unit.parts]
        score = np.fmax.reduce(np.vstack(scores), axis=0)  # NaN only where all are NaN
        out.append(ScoredSeries(unit.name, unit.time, unit.label, score))
    return out


# ---------------------------------------------------------------------------------------------
# Printing


@dataclass(frozen=True)
class Summary:
    detector: str
    windows: dict[str, Any]  # profile name -> WindowScore
    f1: Any
    false_all: Any
    false_quiet: Any
    seconds: float
    cpu: float

    @property
    def threshold(self) -> float:
        return self.windows["standard"].threshold


def summarise(
    dataset: Dataset, results: dict[tuple[str, str, str], Result], detector: str
) -> Summary:
    series = scored_series(dataset, results, detector)
    windows = {profile.name: window_score(series, profile) for profile in PROFILES}
    threshold = windows["standard"].threshold
    quiet = [one for one in series if not one.label.any()]
    own = [results[key] for key in results if key[0] == dataset.name and key[2] == detector]
    points = sum(unit.points for unit in dataset.units)
    per_10k = 10_000 / points if points else 0.0
    return Summary(
        detector,
        windows,
        best_f1(series),
        false_alarms(series, threshold),
        false_alarms(quiet, threshold) if quiet else None,
        sum(r.seconds for r in own) * per_10k,
        sum(r.cpu for r in own) * per_10k,
    )


def _rate(alarms) -> str:
    return "-" if alarms is None else f"{alarms.per_series_week:.2f}"


def detector_table(summaries: list[Summary], quiet_series: int) -> str:
    head = (
        f"{'detector':<9} {'standard':>8} {'low_fp':>7} {'low_fn':>7}   "
        f"{'best F1 (precision / recall)':<28}   "
        f"{'false alarms / series-week':>26}   {'s / 10k points':>15}"
    )
    sub = f"{'':<9} {'':>8} {'':>7} {'':>7}   {'':<28}   {'all':>12} {'no-anomaly':>13}   " + (
        f"{'wall':>7} {'cpu':>7}"
    )
    lines = [head, sub]
    for s in summaries:
        f1 = f"{s.f1.f1:.3f} ({s.f1.precision:.3f} / {s.f1.recall:.3f})"
        lines.append(
            f"{s.detector:<9} "
            + " ".join(
                f"{s.windows[p.name].score:{w}.1f}"
                for p, w in zip(PROFILES, (8, 7, 7), strict=True)
            )
            + f"   {f1:<28}   {_rate(s.false_all):>12} {_rate(s.false_quiet):>13}   "
            + f"{s.seconds:7.1f} {s.cpu:7.1f}"
        )
    lines.append(
        f"(window scores: 0 = never firing, 100 = perfect; false alarms at each detector's "
        f"standard-profile threshold; no-anomaly: the {quiet_series} series without any "
        "labelled anomaly)"
    )
    return "\n".join(lines)


def _threshold(value: float) -> str:
    return "never" if not np.isfinite(value) else f"{value:.4g}"


def detected_windows(one: ScoredSeries, threshold: float) -> tuple[int, int]:
    """(label windows, windows with a detection at `threshold` after the warm-up)."""
    windows = label_windows(one.label)
    skip = warmup_rows(len(one.score))
    with np.errstate(invalid="ignore"):
        hit = one.score >= threshold
    hit[:skip] = False
    return len(windows), sum(bool(hit[start : end + 1].any()) for start, end in windows)


def per_series_table(
    dataset: Dataset,
    results: dict[tuple[str, str, str], Result],
    summaries: dict[str, Summary],
    reference: str,
) -> str:
    ours = scored_series(dataset, results, "logcast")
    theirs = scored_series(dataset, results, reference)
    t_ours, t_ref = summaries["logcast"].threshold, summaries[reference].threshold
    width = max(len(unit.name) for unit in dataset.units)
    lines = [
        f"per series: logcast (threshold {_threshold(t_ours)}) against {reference} "
        f"(threshold {_threshold(t_ref)}), each at its standard-profile threshold",
        f"{'series':<{width}} {'step':>6} {'points':>7} {'windows':>7}   "
        f"{'detected':>8} {'':>8}   {'false alarms':>12} {'':>8}",
        f"{'':<{width}} {'':>6} {'':>7} {'':>7}   {'logcast':>8} {reference:>8}   "
        f"{'logcast':>12} {reference:>8}",
    ]
    for unit, mine, other in zip(dataset.units, ours, theirs, strict=True):
        windows, found = detected_windows(mine, t_ours)
        _, found_ref = detected_windows(other, t_ref)
        fa = false_alarms([mine], t_ours).alarms
        fa_ref = false_alarms([other], t_ref).alarms
        step = f"{int(unit.step / MINUTE)}min" if unit.step < HOUR else f"{unit.step / HOUR:g}h"
        lines.append(
            f"{unit.name:<{width}} {step:>6} {unit.points:>7} {windows:>7}   "
            f"{found:>8} {found_ref:>8}   {fa:>12} {fa_ref:>8}"
            + (f"   ({unit.note})" if unit.note else "")
        )
    return "\n".join(lines)


def print_dataset(dataset: Dataset, results: dict[tuple[str, str, str], Result]) -> None:
    summaries = {name: summarise(dataset, results, name) for name in DETECTORS}
    points = sum(unit.points for unit in dataset.units)
    windows = summaries["never"].windows["standard"].windows
    quiet = sum(not unit.label.any() for unit in dataset.units)
    print(f"\n== {dataset.name}: {dataset.description}")
    print(f"{len(dataset.units)} series, {points:,} points scored, {windows} label windows\n")
    print(detector_table(list(summaries.values()), quiet))
    candidates = [name for name in REFERENCES if name != "never"]
    reference = max(candidates, key=lambda name: summaries[name].windows["standard"].score)
    print()
    print(per_series_table(dataset, results, summaries, reference))


def print_incidents(dataset: Dataset, results: dict[tuple[str, str, str], Result]) -> None:
    """The incident-level section: logcast's own `is_anomaly` flags against the incidents."""
    labels, grid = dataset.extra["labels"], dataset.extra["grid"]
    flagged = []
    for unit in dataset.units:
        for part in unit.parts:
            service, endpoint, metric = part.split("|")
            result = results[("synthetic", part, "logcast")]
            hits = np.flatnonzero(result.flags)
            flagged.append(
                pd.DataFrame(
                    {
                        "service": service,
                        "endpoint": endpoint,
                        "hour_start": grid[hits],
                        "metric": metric,
                        "score": result.score[hits],
                    }
                )
            )
    anomalies = pd.concat(flagged, ignore_index=True)
    scores = incident_scores(anomalies, labels, tolerance=TOLERANCE)
    matches = incident_matches(anomalies, labels, tolerance=TOLERANCE)
    print("\nlogcast's anomalies (is_anomaly) against the labelled incidents, per kind")
    per_kind = matches.groupby("kind").agg(
        incidents=("detected", "size"),
        detected=("detected", "sum"),
        median_delay_h=("delay_hours", "median"),
    )
    print(per_kind.to_string())
    print("\nincident-level")
    print(f"recall     {scores['recall']:.2f}  ({scores['detected']} of {scores['incidents']})")
    print(
        f"precision  {scores['precision']:.2f}  "
        f"({scores['true_alarms']} of {scores['alarms']} alarms)"
    )
    print(f"F1         {scores['f1']:.2f}")
    print(f"median detection delay  {scores['median_delay_hours']:.1f} h")
    if scores["alarms"] > scores["true_alarms"]:
        print("\nalarms outside every incident window")
        for alarm in alarm_events(anomalies).itertuples(index=False):
            own = labels[labels["endpoint"] == alarm.endpoint]
            if not ((alarm.start < own["end"] + TOLERANCE) & (alarm.end > own["start"])).any():
                print(f"  {alarm.endpoint}  {alarm.start:%Y-%m-%d %H}:00  {alarm.hours} h")
    missed = matches[~matches["detected"]] if len(matches) else matches
    if len(missed):
        print("\nmissed incidents")
        print(missed[["endpoint", "kind", "start", "end"]].to_string(index=False))
    met = all(scores[name] >= target for name, target in TARGETS.items())
    print(
        "\ntargets: "
        + ", ".join(f"{name} >= {target}" for name, target in TARGETS.items())
        + (" met" if met else " NOT met")
    )


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        return os.cpu_count() or 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="a fixed subset (see above)")
    parser.add_argument("--only", choices=DATASETS, help="score one dataset only")
    parser.add_argument(
        "--workers", type=int, default=default_workers(), help="processes (default: cores)"
    )
    parser.add_argument("--days", type=int, help="synthetic days (28; --quick 14)")
    parser.add_argument("--endpoints", type=int, help="synthetic endpoints (8; --quick 4)")
    parser.add_argument("--seed", type=int, default=7, help="synthetic seed (7)")
    args = parser.parse_args(argv)
    os.environ.setdefault("DO_NOT_TRACK", "1")
    began = time.perf_counter()
    with contextlib.ExitStack() as beside:
        # the short-episode and incidents sections run in processes of their own beside the
        # detector jobs (the incidents' `logcast backfill` is a subprocess of its own too):
        # the cores the jobs leave idle, at the start and while the last ones finish, do
        # their work, and the whole run fits its time
        sections: dict[str, Any] = {}
        if args.only not in ("incidents", "feedback"):
            sections["short"] = functools.partial(
                short_eval.section_text,
                args.only, args.quick, args.seed, args.days, args.endpoints,
            )  # fmt: skip
        # the pipeline's incidents take a backfill of days: --quick leaves them to --only
        if args.only == "incidents" or (args.only is None and not args.quick):
            sections["incidents"] = functools.partial(
                grouping.grouping_text, days=7 if args.quick else grouping.DAYS, seed=args.seed
            )
        if args.workers > 1 and args.only not in ("incidents", "feedback"):
            spare = beside.enter_context(
                ProcessPoolExecutor(
                    max_workers=len(sections), mp_context=multiprocessing.get_context("spawn")
                )
            )
            sections = {name: spare.submit(call).result for name, call in sections.items()}
        datasets: list[Dataset] = []
        status = 0
        if args.only in (None, "synthetic"):
            days = args.days or (QUICK_SYNTHETIC["days"] if args.quick else 28)
            endpoints = args.endpoints or (QUICK_SYNTHETIC["endpoints"] if args.quick else 8)
            datasets.append(synthetic_dataset(days, endpoints, args.seed))
        if args.only in (None, "realkpi"):
            directory = realkpi.eval_dir()
            alone = args.only == "realkpi"
            consequence = (
                "there is nothing to score" if alone else "only the synthetic set is scored"
            )
            missing = realkpi.missing_message(directory, consequence)
            if missing:
                print(missing)
                status = 1 if alone else 0
            else:
                datasets.append(realkpi_dataset(directory, args.quick))
        jobs = [job for dataset in datasets for job in dataset.jobs]
        mode = "--quick subset" if args.quick else "full run"
        if args.only not in ("incidents", "feedback"):
            print(
                f"evaluation ({mode}): {', '.join(d.name for d in datasets) or 'nothing'} to "
                f"score, {len(jobs)} (detector, series) jobs in {args.workers} worker process(es)"
            )
        sys.stdout.flush()
        results = run_jobs(jobs, args.workers) if jobs else {}
        for dataset in datasets:
            print_dataset(dataset, results)
            if dataset.name == "synthetic":
                print_incidents(dataset, results)
        for name in ("short", "incidents"):  # computed inline with one worker
            if name in sections:
                print(sections[name]())
    if args.only is None and args.quick:
        print(
            "\n== incidents as the pipeline groups them: not in --quick (a backfill of days); "
            "`python -m bench.evaluate --only incidents --quick` runs it on 7 days"
        )
    if args.only in (None, "feedback"):
        print_feedback()
    print(f"\nevaluation took {time.perf_counter() - began:.0f} s (exit code {status})")
    return status


if __name__ == "__main__":
    sys.exit(main())
