"""The `make eval` section on people's word: in the warehouse of $LOGCAST_HOME (the one the
flows write), the incidents people confirmed (`logcast incident ack|resolve`), marked a false
alarm (`logcast incident false-alarm`), muted or left without a word, per service, with the
precision and false alarms per week that word gives (transforms.evaluation.feedback)."""

from __future__ import annotations

import pandas as pd


def feedback_section() -> list[str]:
    """The section's lines; one sentence when the home has no incidents yet."""
    from flows.settings import load_settings
    from transforms.evaluation.feedback import feedback_scores
    from warehouse.query import query, tables_present

    settings = load_settings()
    title = f"people's word on the incidents of {settings.home} ($LOGCAST_HOME)"
    if "incidents" not in tables_present(settings.warehouse_dir):
        return [
            f"\n== {title}",
            f"no incidents in {settings.warehouse_dir}: nothing people said to count "
            "(run the flows, then `logcast incident ack|resolve|false-alarm ID`)",
        ]
    from flows.ingest import catalog_for

    incidents = query(settings.warehouse_dir, "SELECT * FROM incidents")
    catalog = catalog_for(settings.catalog_url)
    scores = feedback_scores(incidents, catalog.feedback_frame(), catalog.mutes_frame())
    shown = scores.assign(
        precision=scores["precision"].map(lambda p: "-" if pd.isna(p) else f"{p:.2f}"),
        false_alarms_per_week=scores["false_alarms_per_week"].map("{:.2f}".format),
        weeks=scores["weeks"].map("{:.1f}".format),
    )
    return [
        f"\n== {title}",
        "confirmed: acked or resolved by hand; precision: confirmed / (confirmed + false "
        "alarms), '-' where no one said either",
        shown.to_string(index=False),
    ]


def print_feedback() -> None:
    print("\n".join(feedback_section()))
