"""Grouping Accuracy (the loghub benchmark's GA) on hand-made cases, and the evaluation's
behaviour without its corpus."""

import pytest

from bench import templates
from bench.templates import grouping_accuracy, predicted_templates


def test_every_group_exactly_right_is_one_whatever_the_labels():
    assert grouping_accuracy(["a", "a", "b"], [7, 7, 9]) == 1.0
    assert grouping_accuracy([], []) == 1.0


def test_a_split_group_loses_all_its_messages():
    # true group a (3 messages) split into two predicted groups: none of its 3 is right
    assert grouping_accuracy(["a", "a", "a", "b"], [1, 1, 2, 3]) == pytest.approx(1 / 4)


def test_a_merged_group_loses_both_true_groups():
    assert grouping_accuracy(["a", "a", "b", "c"], [1, 1, 1, 2]) == pytest.approx(1 / 4)


def test_a_predicted_group_must_hold_the_whole_true_group_and_nothing_else():
    truth = ["a", "a", "b", "b", "c"]
    predicted = ["x", "x", "y", "z", "z"]  # a right; b split; c merged with one b
    assert grouping_accuracy(truth, predicted) == pytest.approx(2 / 5)


def test_lengths_must_match():
    with pytest.raises(ValueError, match="3 true labels but 2 predicted"):
        grouping_accuracy([1, 2, 3], [1, 2])


def test_the_pipeline_miner_groups_messages_by_template():
    messages = [
        "payment failed for order 12",
        "payment failed for order 7",
        "user bob logged in",
        "user alice logged in",
        "disk full",
    ]
    predicted = predicted_templates(messages)
    assert grouping_accuracy(["p", "p", "u", "u", "d"], predicted) == 1.0
    by_service = predicted_templates(messages, ["a", "b", "a", "a", "a"])
    assert by_service[0] != by_service[1]  # services never share a template


def test_no_corpus_exits_2_with_one_sentence(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LOGCAST_EVAL_DIR", str(tmp_path))
    assert templates.main([]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("loghub: no corpus at") and len(err.splitlines()) == 1
