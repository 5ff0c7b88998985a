"""The forecasting step's options and constants: metrics, model format version, severities."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from schemas.forecasts import SEVERITIES
from schemas.metrics import EndpointHourly as EH
from transforms.forecast.days import holiday_days

METRICS: tuple[str, ...] = (EH.requests, EH.error_rate, EH.latency_p95_ms)
VALUE = "value"
"""Value column of the long `metric_series` frame (hour_start, service, endpoint, metric, value)."""

SCORE_DECADES = 2.0
"""A score of s means a tail probability of p_edge * (1 - s) ** SCORE_DECADES."""

MODEL_VERSION = 4
"""Version of the stored model format: models stored by another version are fitted again
(4: a day's models include the event counts of chosen log templates)."""

HOUR = pd.Timedelta(hours=1)
DAY = pd.Timedelta(days=1)

SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
"""Order of the severities: low 0, medium 1, high 2, critical 3."""


@dataclass(frozen=True)
class ForecastOptions:
    """Knobs of the forecasting step; the defaults are the product's."""

    metrics: tuple[str, ...] = METRICS
    interval_width: float = 0.99
    threshold: float = 0.9  # score >= threshold -> is_anomaly
    training_days: int = 28  # trailing window
    min_history_days: float = 3.0  # below this: robust baseline (method "baseline")
    min_median_requests: float = 1.0  # series with less median traffic/hour are skipped
    uncertainty_samples: int = 0  # Prophet's own sampling is not needed: see calibration
    fit_workers: int = 0  # processes for the daily fits; 0: one per core
    totals: bool = True  # also forecast each service's total and the global total
    holidays_country: str = ""  # e.g. "US": public holidays as Prophet holidays, "" for none
    template_series: int = 20  # log templates per service whose hourly counts get a model
    template_min_history_days: float = 1.0  # templates first seen more recently are skipped

    def __post_init__(self) -> None:
        if not 0 < self.interval_width < 1:
            raise ValueError(f"interval_width must be between 0 and 1, got {self.interval_width}")
        if not 0 < self.threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        if self.training_days < 1:
            raise ValueError(f"training_days must be at least 1, got {self.training_days}")
        if self.template_series < 0:
            raise ValueError(f"template_series must be 0 or more, got {self.template_series}")
        if self.template_min_history_days < 0:
            raise ValueError(
                f"template_min_history_days must be 0 or more, got {self.template_min_history_days}"
            )
        if self.holidays_country:
            holiday_days(self.holidays_country, (2000,))  # raises for an unknown country
