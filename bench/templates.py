"""`make eval-templates`: how well logcast's template miner groups real log messages, scored
on the LogPAI loghub 2k samples (`$LOGCAST_EVAL_DIR/loghub/<System>/<System>_2k.log_structured.csv`,
default ../shared/eval; research licence: read for evaluation, nothing copied) beside Drain's
published figures.

The score is the loghub benchmark's Grouping Accuracy (GA): a message is parsed correctly when
the set of messages in its predicted group is exactly the set in its ground-truth group
(EventId); GA is the share of messages parsed correctly.

Messages (the Content column) go through the pipeline's own miner: the same masks and the same
Drain settings, Drain fed each service's distinct masked messages in sorted order. Two columns:
`one service` mines each system's messages together (as for a log whose lines name no service,
and as the published figures were obtained), `by component` treats the Component column as the
service (what the `servicelog` layout reads as the service: the word after the level), so
messages of different components never share a template.

Published: Zhu et al., "Tools and Benchmarks for Automated Log Parsing", ICSE-SEIP 2019,
Table III (parsing accuracy), Drain's row; obtained with a tuned similarity threshold, depth and
regexes per system, where logcast uses one set of generic masks and Drain3's defaults."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bench.realkpi import eval_dir
from transforms.templates import mask_messages, mine_templates

SYSTEMS = (
    "HDFS", "Hadoop", "Spark", "Zookeeper", "OpenStack", "BGL", "HPC", "Thunderbird",
    "Windows", "Linux", "Mac", "Android", "HealthApp", "Apache", "OpenSSH", "Proxifier",
)  # fmt: skip

DRAIN_PUBLISHED = {
    "HDFS": 0.998, "Hadoop": 0.948, "Spark": 0.920, "Zookeeper": 0.967, "OpenStack": 0.733,
    "BGL": 0.963, "HPC": 0.887, "Thunderbird": 0.955, "Windows": 0.997, "Linux": 0.690,
    "Mac": 0.787, "Android": 0.911, "HealthApp": 0.780, "Apache": 1.000, "OpenSSH": 0.788,
    "Proxifier": 0.527,
}  # fmt: skip
"""Drain's Grouping Accuracy on the loghub 2k samples (Zhu et al., ICSE-SEIP 2019, Table III)."""


def grouping_accuracy(truth: Sequence, predicted: Sequence) -> float:
    """The loghub benchmark's Grouping Accuracy: the share of messages whose predicted group
    holds exactly the messages of their true group (1.0 for no messages)."""
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} true labels but {len(predicted)} predicted")
    if not len(truth):
        return 1.0
    return float(grouped_correctly(truth, predicted).mean())


def grouped_correctly(truth: Sequence, predicted: Sequence) -> np.ndarray:
    """Per message, whether its predicted group holds exactly the messages of its true group."""
    frame = pd.DataFrame({"truth": list(truth), "predicted": list(predicted)})
    correct = np.zeros(len(frame), dtype=bool)
    true_sizes = frame["truth"].value_counts()
    for _, group in frame.groupby("predicted", sort=False):
        labels = group["truth"].unique()
        if len(labels) == 1 and true_sizes[labels[0]] == len(group):
            correct[frame.index.get_indexer(group.index)] = True
    return correct


def predicted_templates(messages: Sequence[str], services: Sequence[str] | None = None) -> list:
    """The template id of each message as the pipeline mines it (masks, then Drain over each
    service's distinct masked messages, sorted); one service when `services` is None."""
    masked = mask_messages(list(messages)).to_pylist()
    frame = pd.DataFrame(
        {
            "service": list(services) if services is not None else ["all"] * len(masked),
            "message": masked,
        }
    ).astype(str)
    mapping = mine_templates(frame)
    joined = frame.merge(mapping, on=["service", "message"], how="left")
    return joined["template_id"].tolist()


def structured_file(corpus: Path, system: str) -> Path:
    return corpus / system / f"{system}_2k.log_structured.csv"


@dataclass(frozen=True)
class Score:
    system: str
    messages: int
    true_groups: int
    one_service: float
    by_component: float
    predicted_groups: int
    worst: str
    """The true group that loses the most messages, and how."""


def system_accuracy(corpus: Path, system: str, *, by_component: bool = False) -> float:
    """GA of one system on loghub's Content column. (`make eval-logs` scores the messages its
    own read of the raw log gives instead, mined per event service: `bench.logs`.)"""
    frame = read_system(corpus, system)
    services = frame["Component"].tolist() if by_component else None
    return grouping_accuracy(frame["EventId"], predicted_templates(frame["Content"], services))


def biggest_loss(truth: pd.Series, predicted: list, missing: np.ndarray | None = None) -> str:
    """The true group that loses the most messages, and how: split over several predicted
    groups, and/or merged with other true groups (or, `missing`, messages with no template)."""
    frame = pd.DataFrame({"truth": truth.values, "predicted": predicted})
    groups_of_truth = frame.groupby("truth")["predicted"].nunique()
    truths_of_group = frame.groupby("predicted")["truth"].nunique()
    true_sizes = frame["truth"].value_counts()
    group_sizes = frame["predicted"].value_counts()
    wrong = (truths_of_group[frame["predicted"]].values > 1) | (
        group_sizes[frame["predicted"]].values != true_sizes[frame["truth"]].values
    )
    if missing is not None:
        wrong |= missing
    if not wrong.any():
        return "-"
    lost = frame.loc[wrong, "truth"].value_counts()
    worst = lost.index[0]
    how = []
    if groups_of_truth[worst] > 1:
        how.append(f"split into {groups_of_truth[worst]}")
    merged = truths_of_group[frame.loc[frame["truth"] == worst, "predicted"].unique()].max()
    if merged > 1:
        how.append(f"merged with {merged - 1} other true group{'s' if merged > 2 else ''}")
    if missing is not None and missing[(frame["truth"] == worst).to_numpy()].any():
        how.append(f"{int(missing[(frame['truth'] == worst).to_numpy()].sum())} without a template")
    return f"{worst} ({lost.iloc[0]} lines) {' and '.join(how)}; {int(wrong.sum())} lines wrong"


def read_system(corpus: Path, system: str) -> pd.DataFrame:
    """The system's structured sample; without a Component column (Apache, Proxifier), one
    component."""
    frame = pd.read_csv(structured_file(corpus, system), dtype=str, keep_default_na=False)
    if "Component" not in frame.columns:
        frame["Component"] = system
    return frame


def score(corpus: Path, system: str) -> Score:
    frame = read_system(corpus, system)
    one = predicted_templates(frame["Content"])
    by = predicted_templates(frame["Content"], frame["Component"])
    return Score(
        system=system,
        messages=len(frame),
        true_groups=frame["EventId"].nunique(),
        one_service=grouping_accuracy(frame["EventId"], one),
        by_component=grouping_accuracy(frame["EventId"], by),
        predicted_groups=len(set(one)),
        worst=biggest_loss(frame["EventId"], one),
    )


def main(argv: list[str] | None = None) -> int:
    corpus = eval_dir() / "loghub"
    missing = [s for s in SYSTEMS if not structured_file(corpus, s).is_file()]
    if len(missing) == len(SYSTEMS):
        print(
            f"loghub: no corpus at {corpus} (set LOGCAST_EVAL_DIR to the folder that holds "
            "loghub/<System>/<System>_2k.log_structured.csv); nothing to score",
            file=sys.stderr,
        )
        return 2
    scores = [score(corpus, s) for s in SYSTEMS if s not in missing]
    print(
        "template grouping accuracy (GA) on the loghub 2k samples; Drain as published in "
        "Zhu et al., ICSE-SEIP 2019"
    )
    print(
        f"{'system':<12}{'groups':>7}{'ours':>7}{'GA one service':>16}{'GA by component':>17}"
        f"{'Drain':>7}{'diff':>7}  biggest loss (one service)"
    )
    for s in scores:
        published = DRAIN_PUBLISHED[s.system]
        print(
            f"{s.system:<12}{s.true_groups:>7}{s.predicted_groups:>7}{s.one_service:>16.3f}"
            f"{s.by_component:>17.3f}{published:>7.3f}{s.one_service - published:>+7.3f}  {s.worst}"
        )
    mean = sum(s.one_service for s in scores) / len(scores)
    mean_by = sum(s.by_component for s in scores) / len(scores)
    mean_drain = sum(DRAIN_PUBLISHED[s.system] for s in scores) / len(scores)
    print(
        f"{'mean':<12}{'':>14}{mean:>16.3f}{mean_by:>17.3f}{mean_drain:>7.3f}{mean - mean_drain:>+7.3f}"
    )
    if missing:
        print(f"not in the corpus: {', '.join(missing)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
