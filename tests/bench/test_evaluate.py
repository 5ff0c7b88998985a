"""`make eval` on a short run: it generates, scores and reports."""

import pytest

from bench.evaluate import main

pytestmark = pytest.mark.slow  # six days generated, fitted and scored


def test_the_evaluation_runs_and_reports_incident_level_scores(capsys):
    assert main(["--days", "6", "--endpoints", "3", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    for line in ("recall", "precision", "F1", "median detection delay", "targets:"):
        assert line in out
    assert "labelled incidents" in out and "per kind" in out
