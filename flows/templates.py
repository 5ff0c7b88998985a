"""Template mining after the hourly pass: the vocabulary of the hours just rebuilt, re-mining
the services whose vocabulary changed, and the template tables of every hour whose events now
map to other templates.

Order-independence (same files, any order or grouping, same tables) rests on three rules:
the vocabulary of an hour (`log_messages_hourly`) is rebuilt from its whole `requests`
partition, like every hourly table; a service's templates are mined from its whole
vocabulary in sorted order (`transforms.templates.mining`); and whenever mining maps a masked
message to another template than the saved mapping did (or it is new), every hour holding it
gets its `log_templates_minutely` rebuilt. `log_templates` is rebuilt whole from the
vocabulary each time. The mapping is saved last, so a run that dies half-way is redone by the
next one: its hours are still dirty, and the saved mapping still differs from the mined one.
"""

from __future__ import annotations

import pandas as pd

from flows.ingest import catalog_for
from flows.settings import Settings
from schemas.common import empty_frame
from schemas.requests import Request
from schemas.templates import LogMessagesHourly, LogTemplates
from transforms.templates import (
    Logged,
    log_messages_hourly,
    log_templates,
    log_templates_minutely,
    mine_templates,
)
from warehouse.layout import Layout, date_partition, hour_partition
from warehouse.locks import named_lock
from warehouse.publish import Batch
from warehouse.templates import (
    load_mapping,
    partitions_with_files,
    read_events,
    read_vocabulary,
    save_mapping,
)

LOCK = "templates"


def remine(vocabulary: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """The mapping of every (service, masked message) of the vocabulary: the services whose
    set of messages equals the saved mapping's keep theirs, the others are mined again."""
    pairs = vocabulary[["service", "message"]].astype(str).drop_duplicates()
    now = pairs.groupby("service")["message"].agg(frozenset)
    before = previous.groupby("service")["message"].agg(frozenset)
    changed = [s for s in now.index if before.get(s) != now[s]]
    kept = previous[previous["service"].isin(set(now.index) - set(changed))]
    fresh = mine_templates(pairs[pairs["service"].isin(changed)])
    mapping = pd.concat([kept, fresh], ignore_index=True)
    return mapping.sort_values(["service", "message"], ignore_index=True)


def changed_messages(mapping: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """(service, message) pairs that are new or map to another template than before."""
    joined = mapping.merge(
        previous[["service", "message", "template_id"]],
        on=["service", "message"],
        how="left",
        suffixes=("", "_before"),
    )
    moved = joined["template_id"] != joined["template_id_before"]  # NaN: new
    return joined.loc[moved, ["service", "message"]]


def rebuild_templates(
    hours: list[pd.Timestamp], *, settings: Settings, run_id: str | None
) -> dict[str, int]:
    """Rebuilds the vocabulary of `hours`, mines the services whose vocabulary changed, then
    publishes `log_templates_minutely` for `hours` and every hour whose events map to other
    templates, and `log_templates` whole; returns the rows written per table. Holds the
    templates lock (after the caller's day locks)."""
    with named_lock(settings.locks_dir, LOCK):
        return _rebuild_templates(hours, settings=settings, run_id=run_id)


def _rebuild_templates(
    hours: list[pd.Timestamp], *, settings: Settings, run_id: str | None
) -> dict[str, int]:
    layout = Layout(settings.warehouse_dir)
    catalog = catalog_for(settings.catalog_url)
    retired = catalog.retired_partitions("requests")
    events: dict[str, object] = {}
    vocabulary_batch = Batch(layout, catalog, run_id)
    for hour in hours:
        partition = hour_partition(hour)
        if partition in retired:
            continue  # its requests are gone: its vocabulary stays what it was built from
        table = read_events(layout, partition)
        # masked once for both tables of the hour
        events[partition] = Logged(table if table is not None else empty_frame(Request))
        vocabulary_batch.add(
            "log_messages_hourly", partition, log_messages_hourly(events[partition], False)
        )
    written = vocabulary_batch.check_and_publish()

    vocabulary = read_vocabulary(layout)
    previous = load_mapping(layout)
    mapping = remine(vocabulary, previous)
    changed = changed_messages(mapping, previous)
    if len(changed):
        holding = vocabulary.merge(changed, on=["service", "message"])
        for hour in holding[LogMessagesHourly.hour_start].drop_duplicates():
            partition = hour_partition(hour)
            if partition not in events and partition not in retired:
                table = read_events(layout, partition)
                events[partition] = table if table is not None else empty_frame(Request)

    batch = Batch(layout, catalog, run_id)
    for partition, table in sorted(events.items()):
        batch.add("log_templates_minutely", partition, log_templates_minutely(table, mapping))
    templates = log_templates(vocabulary, mapping, validate=False)
    days = templates[LogTemplates.first_seen].dt.floor("D")
    by_day = {date_partition(day): rows for day, rows in templates.groupby(days, sort=True)}
    # a day that no longer holds a template's first event loses its file
    for partition in sorted(set(by_day) | set(partitions_with_files(layout, "log_templates"))):
        rows = by_day.get(partition, templates.iloc[:0])
        batch.add("log_templates", partition, rows.reset_index(drop=True))
    written |= batch.check_and_publish()
    save_mapping(layout, mapping)
    return written
