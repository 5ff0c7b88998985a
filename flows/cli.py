"""The `logcast` command line.

Each command imports what it needs when it runs: `--help`, `query`, `tables` and `sources`
never load Prefect, Prophet or Great Expectations."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


FORMAT_NAMES = (
    "csv", "tsv", "jsonl", "servicelog", "common", "combined", "apache_ssl", "alb", "elb",
    "haproxy", "uwsgi", "heroku", "squid", "gin", "phpfpm", "s3", "uvicorn", "morgan",
    "devserver", "envoy", "caddy", "traefik", "npm", "azure_storage", "iis", "w3c", "zeek",
    "log4j", "python", "ruby", "syslog", "syslog5424", "journald", "klog", "logfmt", "zap",
    "golog", "logcat", "apache_error", "nginx_error", "monolog", "nestjs", "sidekiq", "lambda",
    "cri",
)  # fmt: skip
"""The formats `--format` names (the registry's, which a test keeps this list equal to;
importing the registry here would slow every command's start)."""


def load_settings():
    from flows.settings import load_settings as load

    return load()


def _time(text: str, option: str) -> pd.Timestamp:
    """An ISO 8601 time, UTC when it names no offset."""
    import pandas as pd

    try:
        ts = pd.Timestamp(text)
    except ValueError:
        ts = pd.NaT
    if ts is pd.NaT:
        raise ValueError(
            f"{option}: expected a time such as 2026-11-03T14:00 (UTC unless it names an "
            f"offset), got {text!r}"
        )
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _day(text: str) -> pd.Timestamp:
    import pandas as pd

    try:
        ts = pd.Timestamp(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2026-11-01, got {text!r}") from None
    return (ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")).floor("D")


def _hour(text: str) -> pd.Timestamp:
    import pandas as pd

    try:
        ts = pd.Timestamp(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO time like 2026-11-01T13:00Z, got {text!r}"
        ) from None
    return (ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")).floor("h")


OUTPUTS = ("table", "csv", "json")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="logcast",
        description="Raw API and service logs into validated metric tables, forecasts and reports.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="generate synthetic logs and run the whole pipeline")
    demo.add_argument("--days", type=int, default=14, help="days of logs (default 14)")
    demo.add_argument("--endpoints", type=int, default=8, help="endpoints (default 8)")
    demo.add_argument("--seed", type=int, default=7)

    gen = commands.add_parser("generate", help="write synthetic API logs, one CSV per hour")
    gen.add_argument("--days", type=int, required=True, help="whole UTC days to generate")
    gen.add_argument("--endpoints", type=int, default=8, help="number of endpoints (default 8)")
    gen.add_argument("--end", type=_day, help="last day (default: yesterday, UTC)")
    gen.add_argument("--out", type=Path, help="folder for the files (default: the landing folder)")
    gen.add_argument(
        "--labels", type=Path, help="incident labels CSV (default: $LOGCAST_HOME/labels.csv)"
    )
    gen.add_argument("--seed", type=int, default=7, help="random seed (same seed, same bytes)")

    ing = commands.add_parser(
        "ingest", help="ingest files (default: new files in the landing folder)"
    )
    ing.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    ing.add_argument(
        "--format",
        default="auto",
        help="auto (the default: the format that reads at least 90%% of the first lines), "
        f"{', '.join(FORMAT_NAMES)}, nginx:'<log_format template>', pattern:'<grok pattern>' "
        "or log4j:'<conversion pattern>'",
    )
    ing.add_argument("--source", help="source name recorded on every row (default: settings)")
    ing.add_argument(
        "--accept-empty",
        action="store_true",
        help="exit 0 even when a file is rejected whole or keeps none of its records",
    )

    run = commands.add_parser("run", help="run the hourly flow once")
    run.add_argument(
        "--hour", type=_hour, help="hour to score (default: the hour that just closed)"
    )

    day = commands.add_parser(
        "daily", help="run the daily flow once: rollups, next day's models, retention, report"
    )
    day.add_argument("--day", type=_day, help="UTC day (default: yesterday)")

    rep = commands.add_parser(
        "report", help="write the daily HTML report of a day (and a PNG of it with --screenshot)"
    )
    rep.add_argument("--day", type=_day, help="UTC day (default: the newest with rollups)")
    rep.add_argument("--screenshot", type=Path, help="also render it in headless Chromium to PNG")

    commands.add_parser(
        "serve",
        help="serve the hourly, daily and backfill deployments from this process "
        "(needs PREFECT_API_URL)",
    )

    dep = commands.add_parser(
        "deploy",
        help="register the deployments of deployments/prefect.yaml on a process work pool "
        "(needs PREFECT_API_URL)",
    )
    dep.add_argument("--pool", help="work pool (default: the one prefect.yaml names, logcast)")

    back = commands.add_parser("backfill", help="recompute and score whole UTC days, in time order")
    back.add_argument("--start", type=_day, required=True, help="first day (inclusive)")
    back.add_argument("--end", type=_day, required=True, help="last day (inclusive)")
    back.add_argument(
        "--force", action="store_true", help="redo days already done and refit their models"
    )
    back.add_argument(
        "--concurrency",
        type=int,
        default=2,
        metavar="N",
        help="days recomputed at once (default 2); scoring is always in time order",
    )

    query = commands.add_parser("query", help="read-only SQL (DuckDB) over the warehouse tables")
    query.add_argument("sql")
    query.add_argument("--output", choices=OUTPUTS, default="table")

    board = commands.add_parser(
        "dashboard",
        help="serve the interactive dashboard over the warehouse (read-only; new hours appear "
        "without a restart)",
    )
    board.add_argument("--port", type=int, default=8050)
    board.add_argument("--host", default="127.0.0.1")
    board.add_argument(
        "--refresh-seconds",
        type=int,
        default=60,
        help="how often an open page re-reads the warehouse (default 60)",
    )
    board.add_argument(
        "--screenshot",
        type=Path,
        help="instead of serving: render the page in headless Chromium and write a PNG of it",
    )

    tables = commands.add_parser(
        "tables", help="the warehouse tables: grain, rows, partitions, newest partition"
    )
    tables.add_argument("--output", choices=OUTPUTS, default="table")

    sources = commands.add_parser(
        "sources",
        help="each source's files and formats, endpoints admitted (and the cap), the folded "
        "patterns with their rows, and the rows in {other}",
    )
    sources.add_argument("--output", choices=("table", "json"), default="table")

    alerts = commands.add_parser(
        "alerts",
        help="route incident events to a webhook, Slack or email with Prefect automations "
        "(needs PREFECT_API_URL)",
    )
    rules = alerts.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")
    add = rules.add_parser(
        "add",
        help="save a notification block and an automation that notifies it of every incident "
        "opened, updated or resolved at or above a severity",
    )
    target = add.add_mutually_exclusive_group(required=True)
    target.add_argument("--webhook", metavar="URL", help="POST a JSON notification to URL")
    target.add_argument("--slack-webhook", metavar="URL", help="a Slack incoming webhook")
    target.add_argument(
        "--email",
        metavar="ADDRESS",
        help="email through SendGrid (needs SENDGRID_API_KEY; From: LOGCAST_ALERTS_SENDER)",
    )
    add.add_argument(
        "--min-severity",
        default="high",
        metavar="LEVEL",
        help="low, medium, high (the default) or critical: the least severe incident notified",
    )
    add.add_argument("--name", help="the alert's name (default: TARGET-LEVEL, e.g. slack-high)")
    rules.add_parser("list", help="the alerts: name, target, least severity, enabled")
    remove = rules.add_parser("remove", help="delete an alert's automation and its block")
    remove.add_argument("name")

    mute = commands.add_parser(
        "mute",
        help="a maintenance window: incidents of a service (or endpoint) inside it are "
        "recorded and send no event; `mute list`, `mute remove ID`",
    )
    mute.add_argument("action", nargs="?", choices=("list", "remove"), help="list or remove")
    mute.add_argument("mute_id", nargs="?", type=int, metavar="ID", help="the mute to remove")
    mute.add_argument("--service", help="the service muted")
    mute.add_argument("--endpoint", default="*", help="one endpoint (default: all of them)")
    mute.add_argument("--from", dest="starts", help="start, ISO 8601 (UTC if naive)")
    mute.add_argument("--to", dest="ends", help="end, ISO 8601 (UTC if naive)")
    mute.add_argument("--reason", help="why, shown in the reports and artifacts")

    incident = commands.add_parser(
        "incident", help="say what an incident is: ack, resolve or false-alarm, with a note"
    )
    incident.add_argument("action", choices=("ack", "resolve", "false-alarm"))
    incident.add_argument("incident_id", metavar="ID", help="the incident's id (incidents table)")
    incident.add_argument("--note", default="", help="shown in the reports and artifacts")

    daemon = commands.add_parser(
        "daemon",
        help="the resident processes that run `ingest` against a Prefect server with the flows "
        "already loaded: `daemon status`, `daemon stop`",
    )
    daemon.add_argument("action", choices=("status", "stop"))
    daemon.add_argument(
        "--all", action="store_true", help="stop every one of yours, not only this directory's"
    )
    return parser


FLOW_COMMANDS = {"ingest", "run", "daily", "backfill"}
"""The commands that run a flow, whose settings are checked before a Prefect server starts."""
RESIDENT_COMMANDS = {"ingest"}
"""The commands a resident process runs when a Prefect server is named (flows.daemon)."""
EPHEMERAL_STARTUP_SECONDS = "120"
"""How long a command waits for Prefect's temporary server (no PREFECT_API_URL) unless
PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS says otherwise: the first start after an
install compiles and migrates its database, which can take longer than Prefect's default."""


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault(
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", EPHEMERAL_STARTUP_SECONDS
    )
    try:
        if argv is None and args.command in RESIDENT_COMMANDS:  # the `logcast` script itself
            from flows.daemon import run_command

            code = run_command(sys.argv[1:])
            if code is not None:
                return code
        if args.command in FLOW_COMMANDS:
            load_settings()  # a bad logcast.toml is one line here, not a failed flow run
        return COMMANDS[args.command](args)
    except BrokenPipeError:  # the reader went away (`logcast query ... | head`)
        sys.stderr.close()  # nothing more to say, and no traceback at exit
        return 0
    except (ValueError, FileNotFoundError) as exc:  # SettingsError is a ValueError
        print(f"logcast: error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        if "Prefect API server" not in str(exc):
            raise
        print(
            f"logcast: error: {exc} Start a server with `prefect server start` and set "
            "PREFECT_API_URL to it, or give the temporary one longer with "
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.",
            file=sys.stderr,
        )
        return 1
    finally:
        if argv is None:  # the process is the command (the `logcast` script): it ends next
            _quick_exit()


def _quick_exit() -> None:
    """Leaves the objects alive now out of the collections of the interpreter's shutdown.
    Searching the heap that Prefect, pandas and Great Expectations build for cycles took
    about a second of every command's exit; the exit still runs every atexit handler, closes
    what refcounting frees and flushes the streams."""
    import gc

    gc.freeze()


def cmd_generate(args: argparse.Namespace) -> int:
    import pandas as pd

    from flows.generate import default_end_day, generate

    settings = load_settings()
    result = generate(
        days=args.days,
        endpoints=args.endpoints,
        out_dir=args.out or settings.landing_dir,
        labels_path=args.labels or settings.labels_path,
        end_day=args.end if args.end is not None else default_end_day(),
        seed=args.seed,
    )
    print(
        f"wrote {len(result.files)} files ({result.rows:,} requests, "
        f"{result.start:%Y-%m-%d} to {result.end - pd.Timedelta(days=1):%Y-%m-%d}) "
        f"to {result.files[0].parent}"
    )
    print(f"wrote {len(result.labels)} incident labels to {result.labels_path}")
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    for path in args.paths:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
    with prefect_api(while_starting=_load_publishing):
        from flows.pipeline import ingest

        summary = ingest(
            paths=[str(p) for p in args.paths] or None, fmt=args.format, source=args.source
        )
    _print_files(summary["files"], per_file=True)
    print(f"hours recomputed: {summary['hours_rebuilt']}")
    _print_retention(summary)
    empty = _kept_nothing(summary["files"])
    if empty and not args.accept_empty:
        print(
            f"{len(empty)} file(s) kept nothing ({', '.join(empty[:3])}"
            + (", ..." if len(empty) > 3 else "")
            + "): their lines are in quarantine with the reasons; fix the input or name the "
            "format with --format (--accept-empty to exit 0 anyway)",
            file=sys.stderr,
        )
        return 1
    return 0


def prefect_api(while_starting=None):
    """PREFECT_API_URL's server, else a temporary one started at once (flows.prefect_api)."""
    from flows.prefect_api import prefect_api as api

    return api(while_starting)


def _load_publishing() -> None:
    """What a flow that publishes partitions imports, loaded while a temporary Prefect server
    starts: the flows, then Great Expectations (seconds of imports either way)."""
    import flows.pipeline  # noqa: F401
    from warehouse.quality import load_great_expectations

    load_great_expectations()


def _kept_nothing(files: dict) -> list[str]:
    """The files this run rejected whole or read without keeping a record."""
    rejected = [r["path"] for r in files["rejected_files"]]
    empty = [
        r["path"]
        for r in files.get("read", [])
        if r["records_read"] and not r["rows_kept"] and r["path"] not in rejected
    ]
    return rejected + empty


def cmd_run(args: argparse.Namespace) -> int:
    with prefect_api(while_starting=_load_publishing):
        from flows.pipeline import hourly

        summary = hourly(hour=args.hour.to_pydatetime() if args.hour is not None else None)
    _print_files(summary["files"])
    print(
        f"scored {summary['window']}: {summary['forecasts']} forecasts, "
        f"{summary['anomalies']} anomalies"
    )
    _print_incident_events(summary)
    return 0


def cmd_daily(args: argparse.Namespace) -> int:
    with prefect_api(while_starting=_load_publishing):
        from flows.pipeline import daily

        summary = daily(day=args.day.date() if args.day is not None else None)
    _print_files(summary["files"])
    models = summary["models"]
    print(
        f"day {summary['window']}: rollups {summary['rollups']}, "
        f"{models['series']} series modelled for the next day ({models['series_skipped']} too quiet)"
    )
    _print_retention(summary)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from flows.reports import newest_day, write_report

    settings = load_settings()
    day = args.day if args.day is not None else newest_day(settings)
    if day is None:
        raise ValueError(
            f"no daily rollups in {settings.warehouse_dir}: run a backfill or `make demo` first"
        )
    written = write_report(settings, day)
    print(f"wrote {written.path} ({len(written.charts)} charts)")
    for sentence in written.insights:
        print(f"  - {sentence}")
    if args.screenshot is not None:
        from flows.browser import open_page

        page = open_page(written.path, screenshot=args.screenshot)
        drawn = sum(c["width"] > 0 and c["height"] > 0 and c["marks"] > 0 for c in page.charts)
        print(f"wrote {args.screenshot}: {drawn} of {len(page.charts)} charts rendered")
        if page.console_errors:
            print(f"console errors: {page.console_errors}", file=sys.stderr)
            return 1
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    _need_server("serve")
    from flows.deploy import main as serve

    serve()
    return 0


def _need_server(command: str) -> None:
    if not os.environ.get("PREFECT_API_URL"):
        raise ValueError(
            f"logcast {command} needs a Prefect server: start one with `prefect server start` "
            "and set PREFECT_API_URL=http://127.0.0.1:4200/api"
        )


def cmd_deploy(args: argparse.Namespace) -> int:
    _need_server("deploy")
    from flows.deploy import default_pool, deploy

    pool = args.pool or default_pool()
    for name in deploy(pool):
        print(f"deployed {name} on work pool '{pool}'")
    print(f"start a worker in this directory: prefect worker start --pool {pool}")
    return 0


def cmd_backfill(args: argparse.Namespace) -> int:
    with prefect_api(while_starting=_load_publishing):
        return _backfill(args)


def _backfill(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from flows import pipeline

    bar = Progress(
        TextColumn("backfill"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        transient=False,
    )
    task = bar.add_task("", total=None)

    def advance(done: int, total: int, label: str) -> None:
        bar.update(task, completed=done, total=total, description=label)

    pipeline.PROGRESS_LISTENERS.append(advance)
    try:
        with bar:
            summary = pipeline.backfill(
                start=args.start.date(),
                end=args.end.date(),
                force=args.force,
                concurrency=args.concurrency,
            )
    finally:
        pipeline.PROGRESS_LISTENERS.remove(advance)
    _print_files(summary["files"])
    skipped, still_open = summary["days_skipped"], summary.get("days_open", 0)
    done = summary["days"] - skipped - still_open
    print(
        f"backfilled {summary['window']}: {done} day{'' if done == 1 else 's'} done"
        + (f" ({skipped} already done, skipped)" if skipped else "")
        + (
            f", {still_open} not over yet (done up to the last ended hour; the hourly runs "
            "or a later backfill do the rest)"
            if still_open
            else ""
        )
        + f", {summary['hours_rebuilt']} hours recomputed, {summary['forecasts']:,} forecasts, "
        f"{summary['anomalies']} anomalies"
    )
    _print_incident_events(summary)
    _print_retention(summary)
    return 0


def _print_incident_events(summary: dict) -> None:
    """The incident events the run sent to Prefect, when it sent any."""
    sent = {kind: n for kind, n in summary.get("incident_events", {}).items() if n}
    if sent:
        print("incident events sent: " + ", ".join(f"{n} {kind}" for kind, n in sent.items()))


def cmd_alerts(args: argparse.Namespace) -> int:
    from flows import alert_rules

    if args.alerts_command == "add":
        kind, address = next(
            (kind, value)
            for kind, value in (
                ("webhook", args.webhook),
                ("slack", args.slack_webhook),
                ("email", args.email),
            )
            if value is not None
        )
        target = alert_rules.Target(kind, address)
        name = alert_rules.add_alert(target, args.min_severity, args.name)
        print(
            f"added alert '{name.removeprefix(alert_rules.PREFIX)}': incidents of severity "
            f"{args.min_severity} or above go to {kind} (Prefect automation '{name}')"
        )
    elif args.alerts_command == "list":
        found = alert_rules.list_alerts()
        for rule in found:
            state = "" if rule.enabled else " (paused)"
            print(f"{rule.name}: {rule.target}, severity {rule.min_severity} or above{state}")
        if not found:
            print("no alerts: add one with `logcast alerts add --webhook URL`")
    else:
        alert_rules.remove_alert(args.name)
        print(f"removed alert '{args.name}'")
    return 0


def cmd_mute(args: argparse.Namespace) -> int:
    from transforms.feedback import mute_text
    from warehouse.catalog import Catalog

    catalog = Catalog(load_settings().catalog_url)
    if args.action == "list":
        found = catalog.mutes_frame()
        for mute in found.itertuples(index=False):
            print(mute_text(mute))
        if found.empty:
            print("no mutes: add one with `logcast mute --service S --from T --to T --reason R`")
        return 0
    if args.action == "remove":
        if args.mute_id is None:
            raise ValueError("mute remove: name the mute's ID (`logcast mute list` shows them)")
        if not catalog.remove_mute(args.mute_id):
            raise ValueError(
                f"mute remove: no mute has ID {args.mute_id} (see `logcast mute list`)"
            )
        print(f"removed mute {args.mute_id}")
        return 0
    missing = [
        option
        for option, value in (
            ("--service", args.service),
            ("--from", args.starts),
            ("--to", args.ends),
            ("--reason", args.reason),
        )
        if value is None or value == ""
    ]
    if missing:
        raise ValueError(f"mute: expected {', '.join(missing)} (or `mute list`, `mute remove ID`)")
    starts, ends = _time(args.starts, "mute --from"), _time(args.ends, "mute --to")
    if ends <= starts:
        raise ValueError(
            f"mute: --to ({ends:%Y-%m-%d %H:%M} UTC) must be after --from "
            f"({starts:%Y-%m-%d %H:%M} UTC)"
        )
    mute_id = catalog.add_mute(
        args.service, args.endpoint, starts.to_pydatetime(), ends.to_pydatetime(), args.reason
    )
    mutes = catalog.mutes_frame()
    (added,) = mutes[mutes["mute_id"] == mute_id].itertuples(index=False)
    print(f"added {mute_text(added)}")
    return 0


def cmd_incident(args: argparse.Namespace) -> int:
    import re

    from warehouse.catalog import Catalog
    from warehouse.query import query

    settings = load_settings()
    key = args.incident_id.strip().lower()
    found = None
    if re.fullmatch(r"[0-9a-f]{16}", key) and (settings.warehouse_dir / "incidents").exists():
        found = query(
            settings.warehouse_dir,
            f"SELECT service, endpoint, start FROM incidents WHERE incident_id = '{key}' LIMIT 1",
        )
    if found is None or found.empty:
        raise ValueError(
            f"incident {args.action}: no incident has ID {args.incident_id!r} (the incidents "
            "table's incident_id, 16 hex digits)"
        )
    Catalog(settings.catalog_url).record_feedback(key, args.action, args.note)
    row = found.iloc[0]
    said = {"ack": "acked", "resolve": "resolved", "false-alarm": "marked a false alarm"}
    print(
        f"incident {key} ({row['service']} {row['endpoint']}) {said[args.action]}"
        + (f": {args.note}" if args.note else "")
    )
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from warehouse.query import QueryError, query

    settings = load_settings()
    try:
        result = query(settings.warehouse_dir, args.sql)
    except QueryError as exc:
        print(f"logcast: query refused or failed: {exc}", file=sys.stderr)
        return 2
    _print_frame(result, args.output)
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    settings = load_settings()
    if not settings.warehouse_dir.is_dir():
        print(
            f"logcast: error: no warehouse at {settings.warehouse_dir}: run `logcast run` "
            "(or `logcast demo`) first, or set LOGCAST_HOME to the home that holds one",
            file=sys.stderr,
        )
        return 2
    from flows.dashboard import serve

    if args.screenshot is not None:
        errors = serve.screenshot(settings.warehouse_dir, settings.catalog_url, args.screenshot)
        print(f"wrote {args.screenshot}: the dashboard over {settings.warehouse_dir}")
        if errors:
            print(f"console errors: {errors}", file=sys.stderr)
            return 1
        return 0
    print(f"logcast dashboard on http://{args.host}:{args.port}/ (Ctrl+C stops it)", flush=True)
    serve.serve(
        settings.warehouse_dir, settings.catalog_url, host=args.host, port=args.port,
        refresh_seconds=args.refresh_seconds,
    )  # fmt: skip
    return 0


def cmd_daemon(args: argparse.Namespace) -> int:
    from flows import daemon

    mine = daemon.daemon_key()
    found = daemon.running()
    if args.action == "status":
        if not found:
            print("no resident process is running")
        for info in found:
            here = " (this directory and server)" if info["key"] == mine else ""
            print(
                f"pid {info['pid']}{here}: {info['cwd']}, {info['prefect_api_url']}, started "
                f"{info['started']}, {info['commands']} command(s) run, {info['rss_mb']} MB; "
                f"log {info['log']}"
            )
        return 0
    chosen = found if args.all else [i for i in found if i["key"] == mine]
    if not chosen:
        print("no resident process to stop" + ("" if args.all else " for this directory"))
        return 0
    failed = 0
    for info in chosen:
        if daemon.stop(info):
            print(f"stopped pid {info['pid']} ({info['cwd']})")
        else:
            failed += 1
            print(f"pid {info['pid']} is still running a command", file=sys.stderr)
    return 1 if failed else 0


def cmd_tables(args: argparse.Namespace) -> int:
    from warehouse.query import table_inventory

    settings = load_settings()
    _print_frame(table_inventory(settings.warehouse_dir), args.output)
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict

    import pandas as pd

    from warehouse.sources import source_endpoints

    settings = load_settings()
    found = {s.source: s for s in source_endpoints(settings.warehouse_dir, settings.catalog_url)}
    rows = []
    for name in sorted(set(found) | {s.name for s in settings.sources}):
        config = settings.source_named(name)
        one = asdict(found[name]) if name in found else {"source": name, "patterns": []}
        rows.append(
            {
                "source": name,
                "files": one.get("files", 0),
                "formats": one.get("formats", ""),
                "rows": one.get("rows", 0),
                "endpoints": one.get("endpoints", 0),
                "admitted": one.get("admitted", 0),
                "max_endpoints": config.max_endpoints,
                "fold_variety": config.fold_variety,
                "other_rows": one.get("other_rows", 0),
                "other_paths": one.get("other_paths", 0),
                "patterns": one["patterns"],
            }
        )
    if args.output == "json":
        print(json.dumps(rows))
        return 0
    if not rows:
        print("(no sources: nothing ingested and none configured)")
        return 0
    summary = pd.DataFrame([{k: v for k, v in r.items() if k != "patterns"} for r in rows])
    print(summary.to_string(index=False))
    for row in rows:
        patterns = pd.DataFrame(row["patterns"], columns=["pattern", "kind", "rows", "paths"])
        print(f"\n{row['source']}: {len(patterns)} folded patterns")
        if len(patterns):
            print(patterns.to_string(index=False))
    return 0


def _print_frame(frame: pd.DataFrame, output: str) -> None:
    import pandas as pd

    if output == "csv":
        frame.to_csv(sys.stdout, index=False)
    elif output == "json":
        print(frame.to_json(orient="records", date_format="iso", indent=None))
    else:
        with pd.option_context("display.max_rows", 500, "display.width", 200):
            print(frame.to_string(index=False) if len(frame) else "(no rows)")


def cmd_demo(args: argparse.Namespace) -> int:
    # Hundreds of per-task log lines would bury the tour; flow-level lines stay. Set before
    # Prefect is first imported, which reads its logging settings then.
    os.environ.setdefault("PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL", "WARNING")
    from flows.demo import run_demo

    return run_demo(days=args.days, endpoints=args.endpoints, seed=args.seed)


def _print_retention(summary: dict) -> None:
    from transforms.report import retention_sentences

    for sentence in retention_sentences(summary.get("retention")):
        print(sentence)


def _kept_split(counts: dict) -> str:
    """`; kept 39: 4 requests, 35 events` when service-log events were kept; nothing when every
    row kept is a request (or the counts predate the split)."""
    from transforms.report import kept_split

    return kept_split(counts, "; ")


FILES_LISTED = 20
"""Files `ingest` lists one by one before it says how many more there were."""


def _print_files(files: dict, per_file: bool = False) -> None:
    print(
        f"files: {files['ingested']} ingested, {files['skipped']} unchanged, "
        f"{files['rejected']} rejected; records read {files['records_read']:,} = kept "
        f"{files['rows_kept']:,} + quarantined {files['rows_quarantined']:,}" + _kept_split(files)
    )
    read = files.get("read", []) if per_file else []
    for one in read[:FILES_LISTED]:
        print(
            f"  {one['path']}: {one['format']}, read {one['records_read']:,} = kept "
            f"{one['rows_kept']:,} + quarantined {one['rows_quarantined']:,}" + _kept_split(one)
        )
    if len(read) > FILES_LISTED:
        print(f"  ... and {len(read) - FILES_LISTED} more files")
    for rejected in files["rejected_files"]:
        print(f"  rejected {rejected['path']}: {rejected['reason']}")


COMMANDS = {
    "alerts": cmd_alerts,
    "demo": cmd_demo,
    "generate": cmd_generate,
    "ingest": cmd_ingest,
    "run": cmd_run,
    "backfill": cmd_backfill,
    "daily": cmd_daily,
    "serve": cmd_serve,
    "report": cmd_report,
    "deploy": cmd_deploy,
    "query": cmd_query,
    "dashboard": cmd_dashboard,
    "tables": cmd_tables,
    "sources": cmd_sources,
    "mute": cmd_mute,
    "incident": cmd_incident,
    "daemon": cmd_daemon,
}


if __name__ == "__main__":
    sys.exit(main())
