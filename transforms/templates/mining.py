"""Templates mined with Drain (Drain3's implementation) from each service's distinct masked
messages, in a canonical order, so the same messages always give the same templates and ids.

Drain is order-dependent: a cluster's template is generalised by the messages that join it,
and which cluster a message joins depends on those created before it. Fed every line as it
arrives, the templates would depend on how the files were split and in which order they
were ingested. Fed a service's *distinct masked messages, sorted*, they depend only on that
set: one backfill and any sequence of hourly runs over the same files see the same set, so
they give the same templates. A message's template is that of the cluster it ended in once
all were added; its id is a hash of (service, template text)."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
from drain3.drain import Drain

SIM_TH = 0.4
DEPTH = 4
MAX_CHILDREN = 100
"""Drain3's defaults (similarity threshold, tree depth, children per node); logcast does not
tune them per log."""

WILDCARD = "<*>"

MAPPING_COLUMNS = ["service", "message", "template_id", "template"]


def template_id(service: str, template: str) -> str:
    """Stable id of a template: 16 hex digits of the SHA-1 of service and template text."""
    return hashlib.sha1(f"{service}\x1f{template}".encode()).hexdigest()[:16]


def new_drain() -> Drain:
    return Drain(
        depth=DEPTH,
        sim_th=SIM_TH,
        max_children=MAX_CHILDREN,
        param_str=WILDCARD,
        parametrize_numeric_tokens=True,
    )


def mine(messages: list[str] | np.ndarray) -> list[str]:
    """The template of each of `messages` (masked, distinct), mined in sorted order."""
    order = sorted(range(len(messages)), key=lambda i: messages[i])
    drain = new_drain()
    clusters = [0] * len(messages)
    for i in order:
        cluster, _ = drain.add_log_message(messages[i])
        clusters[i] = cluster.cluster_id
    text = {c.cluster_id: c.get_template() for c in drain.clusters}
    return [text[c] for c in clusters]


def mine_templates(vocabulary: pd.DataFrame) -> pd.DataFrame:
    """(service, message, template_id, template) for every distinct (service, masked message)
    of `vocabulary`, each service mined on its own; rows sorted by service and message."""
    pairs = vocabulary[["service", "message"]].drop_duplicates()
    pairs = pairs.sort_values(["service", "message"], ignore_index=True)
    templates: list[str] = []
    ids: list[str] = []
    for service, group in pairs.groupby("service", sort=True):
        mined = mine(group["message"].tolist())
        templates += mined
        ids += [template_id(service, t) for t in mined]
    return pd.DataFrame(
        {
            "service": pairs["service"].astype("str"),
            "message": pairs["message"].astype("str"),
            "template_id": pd.Series(ids, dtype="str"),
            "template": pd.Series(templates, dtype="str"),
        }
    )
