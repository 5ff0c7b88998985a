"""warehouse.models: a day's models on disk, and models of an older format."""

import json

import pandas as pd

from warehouse.models import load_models, models_path, save_models

DAY = pd.Timestamp("2026-11-03", tz="UTC")
MODELS = {("shop", "/orders", "requests"): '{"method": "baseline"}'}


def test_models_round_trip_with_their_format_version(tmp_path):
    save_models(tmp_path, DAY, MODELS, skipped=2, version=2)
    assert load_models(tmp_path, DAY, version=2) == (MODELS, 2)
    assert load_models(tmp_path, DAY + pd.Timedelta(days=1), version=2) is None


def test_models_of_another_format_are_not_loaded(tmp_path):
    save_models(tmp_path, DAY, MODELS, version=1)
    assert load_models(tmp_path, DAY, version=2) is None
    # a document written before versions were recorded
    path = models_path(tmp_path, DAY)
    document = json.loads(path.read_text())
    del document["model_version"]
    path.write_text(json.dumps(document))
    assert load_models(tmp_path, DAY, version=1) is None
