"""What the catalog's mutes and feedback hold back from the incident events (`people_say`)."""

import pandas as pd

from flows.alerts import people_say
from tests.transforms.test_feedback import INSIDE, OTHER, OUTLASTS, T, incidents
from warehouse.catalog import Catalog

H = pd.Timedelta(hours=1)


def test_people_say_reads_mutes_and_the_latest_feedback_from_the_catalog(tmp_path):
    catalog = Catalog(f"sqlite:///{tmp_path / 'catalog.db'}")
    mute_id = catalog.add_mute(
        "checkout", "*", T.to_pydatetime(), (T + 2 * H).to_pydatetime(), "deploy"
    )
    assert mute_id == 1
    catalog.record_feedback(OTHER["incident_id"], "ack", "on it")
    catalog.record_feedback(OUTLASTS["incident_id"], "ack")
    catalog.record_feedback(OUTLASTS["incident_id"], "resolve", "rolled back")
    said = people_say(catalog, incidents(INSIDE, OUTLASTS, OTHER))
    assert said == {
        "muted": {INSIDE["incident_id"]},
        "acked": {OTHER["incident_id"]},
        "closed": {OUTLASTS["incident_id"]: "resolved by hand: rolled back"},
    }
    assert catalog.remove_mute(mute_id) and not catalog.remove_mute(mute_id)
    assert people_say(catalog, incidents(INSIDE))["muted"] == set()
