"""`make bench`: every benchmark, each printing ratios against its reference engine.

`python -m bench` runs them all; `python -m bench csv jsonl` runs the ingest benchmark for
those formats only; `python -m bench metrics` runs the metric-table benchmark only."""

import os
import sys

os.environ.setdefault("DO_NOT_TRACK", "1")

from bench import ingest, metrics

if __name__ == "__main__":
    chosen = sys.argv[1:]
    formats = tuple(a for a in chosen if a != "metrics")
    if formats or not chosen:
        ingest.main(formats or ("csv", "jsonl", "combined"))
    if "metrics" in chosen or not chosen:
        metrics.main()
