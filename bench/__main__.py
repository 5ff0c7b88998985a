"""`make bench`: every benchmark, each printing ratios against its reference engine.

`python -m bench` runs them all; `python -m bench csv jsonl` runs the ingest benchmark for
those formats only; `python -m bench metrics` (or `forecasting`, `backfill`, `cli`,
`small-ingest`, `templates`, `dashboard`, `short`, `floor`) runs one of the others."""

import os
import sys

os.environ.setdefault("DO_NOT_TRACK", "1")

from bench import (
    backfill,
    cli,
    dashboard,
    floor,
    forecasting,
    ingest,
    metrics,
    short,
    small_ingest,
    template_ingest,
)

OTHERS = {
    "metrics": metrics.main,
    "forecasting": forecasting.main,
    "backfill": backfill.main,
    "cli": cli.main,
    "small-ingest": small_ingest.main,
    "templates": template_ingest.main,
    "dashboard": dashboard.main,
    "short": short.main,
    "floor": floor.main,
}

USAGE = (
    "usage: python -m bench [FORMAT ...] [" + " | ".join(OTHERS) + "]\n"
    "  with no argument, every benchmark; FORMAT is one of " + ", ".join(ingest.FORMATS)
)

if __name__ == "__main__":
    chosen = sys.argv[1:]
    if any(a in ("-h", "--help") for a in chosen):
        print(USAGE)
        sys.exit(0)
    unknown = [a for a in chosen if a not in OTHERS and a not in ingest.FORMATS]
    if unknown:
        print(f"unknown benchmark {', '.join(map(repr, unknown))}\n{USAGE}", file=sys.stderr)
        sys.exit(2)
    formats = tuple(a for a in chosen if a not in OTHERS)
    if formats or not chosen:
        ingest.main(formats or ingest.FORMATS)
    failed = [name for name, run in OTHERS.items() if (name in chosen or not chosen) and run()]
    sys.exit(1 if failed else 0)  # a benchmark returns non-zero when it missed its target
