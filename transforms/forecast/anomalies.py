"""Anomaly rows from scored forecasts: direction, kind and severity."""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.forecasts import SEVERITIES, Anomaly, Forecast
from schemas.metrics import EndpointHourly as EH
from transforms.forecast.options import HOUR, SEVERITY_RANK
from transforms.forecast.series import utc_column

_SEVERITY_BANDS = ((0.999, "critical"), (0.99, "high"), (0.95, "medium"))


SUSTAINED_HOURS = 3
"""An anomaly whose series was anomalous on the same side for the hours before it, this many
in all, is one severity level higher."""


def _severity(score: pd.Series) -> pd.Series:
    severity = pd.Series("low", index=score.index, dtype="str")
    for bound, name in reversed(_SEVERITY_BANDS):
        severity = severity.mask(score >= bound, name)
    return severity


def anomalies(forecasts: pd.DataFrame, *, validate: bool = True) -> pd.DataFrame:
    """The is_anomaly rows of `forecasts`, with direction, kind and severity.

    direction: spike when the actual is above the forecast (and so above the interval), else
    drop. kind: `availability`
    for a series that served no request where the forecast expected traffic, else
    `deviation`. severity from the score (the distance outside the interval, with runs of
    hours already combined in it): low below 0.95, medium below 0.99, high below 0.999,
    critical from 0.999 (with the default calibration: tail probabilities above 1.25e-5,
    5e-7, 5e-9 and below), one level higher when the series was also anomalous on the same
    side in the SUSTAINED_HOURS - 1 hours before (rows of `forecasts` itself).
    """
    columns = list(Anomaly.to_schema().columns)
    keys = [Forecast.service, Forecast.endpoint, Forecast.metric]
    ordered = forecasts.sort_values([*keys, Forecast.hour_start], ignore_index=True)
    flagged_all = ordered[Forecast.is_anomaly].astype(bool).to_numpy()
    spike = (ordered[Forecast.actual] > ordered[Forecast.yhat]).to_numpy()
    side = np.where(flagged_all, np.where(spike, 1, -1), 0)
    hour = utc_column(ordered[Forecast.hour_start])
    same_series = (ordered[keys] == ordered[keys].shift(1)).all(axis=1).to_numpy()
    follows = same_series & (hour.diff() == HOUR).to_numpy()
    run = np.zeros(len(ordered), dtype="int64")
    for i in range(len(ordered)):  # length of the same-side run ending at each row
        if side[i] != 0:
            run[i] = run[i - 1] + 1 if i and follows[i] and side[i - 1] == side[i] else 1
    flagged = ordered[flagged_all].copy()
    flagged[Anomaly.direction] = np.where(spike[flagged_all], "spike", "drop")
    silent = (flagged[Forecast.metric] == EH.requests) & (flagged[Forecast.actual] == 0)
    flagged[Anomaly.kind] = np.where(silent, "availability", "deviation")
    band = _severity(flagged[Forecast.score]).to_numpy()
    rank = np.array([SEVERITY_RANK[name] for name in band], dtype="int64")
    raised = np.minimum(rank + (run[flagged_all] >= SUSTAINED_HOURS), len(SEVERITIES) - 1)
    flagged[Anomaly.severity] = [SEVERITIES[i] for i in raised]
    flagged = flagged.sort_values([Forecast.hour_start, *keys], ignore_index=True)
    return Anomaly.validate(flagged[columns]) if validate else flagged[columns]
