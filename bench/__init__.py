"""Reproducible benchmarks: each prints its numbers beside a reference engine run in the same process."""
