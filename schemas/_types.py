"""Deprecated name of `schemas.common`, kept for the modules not yet moved over to it
(transforms/forecast.py, flows/pipeline.py)."""

from schemas.common import *  # noqa: F403
from schemas.common import empty_frame  # noqa: F401  (the name those modules import)
