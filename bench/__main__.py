"""`make bench`: every benchmark, each printing ratios against its reference engine."""

import os
import sys

os.environ.setdefault("DO_NOT_TRACK", "1")

from bench import ingest

if __name__ == "__main__":
    formats = tuple(sys.argv[1:]) or ("csv", "jsonl", "combined")
    ingest.main(formats)
