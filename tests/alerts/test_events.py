"""The webhook body's alert data is built from the records directly: it must equal what faust writes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import faust
import orjson

from alerts.events import alert_data, cloudevent, cloudevents_json
from contracts.models import Alert, FieldChange, Identifier
from tests.factories import entry


def faust_data(alert: faust.Record) -> Any:
    """The way the data was made before: faust's JSON, its namespace fields removed (of any record)."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "__faust"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(orjson.loads(alert.dumps()))


def alerts() -> list[Alert]:
    before = entry(key="306", name="BANCO NACIONAL DE CUBA", aliases=["NATIONAL BANK OF CUBA"],
                   identifiers=[Identifier(scheme="uscc", value="91310000MA1FL00001")], countries=["CU"],
                   programs=["CUBA"], raw={"remarks": "a; b", "nested": {"list": [1, "2", None]}})  # fmt: skip
    after = entry(key="306", name="BANCO NACIONAL DE CUBA S.A.", listed_on="2020-01-02")
    stamp = datetime(2026, 11, 29, 10, 11, 12, 345678, tzinfo=UTC)
    return [
        Alert(alert_id="a1", subscriber_id="s", watch_id="w", watch_name="Banco Nacional", source="ofac_sdn",
              entry_key="306", entry_name=after.name, kind="modified", before=before, after=after,
              fields=[FieldChange(field="name", before=before.name, after=after.name),
                      FieldChange(field="programs", before=["CUBA"], after=["CUBA", "SDGT"])],
              score=0.9312, reasons=["name: x ~ y (0.93)", "中文 reason"], change_event_id="e1",
              observed_at=stamp, created_at=datetime(2026, 11, 29, 10, 11, 13, tzinfo=UTC), list_kind="sanctions",
              list_colour="black", jurisdiction="US", confirms=["p1", "p2"]),
        Alert(alert_id="a2", subscriber_id="s", watch_id="w", watch_name="X", source="un_sc", entry_key="1",
              entry_name="X", kind="removed", before=after, after=None, fields=[], score=1.0, reasons=[],
              change_event_id="e2", observed_at=stamp, created_at=stamp, removal="expired"),
    ]  # fmt: skip


def test_alert_data_equals_what_faust_writes() -> None:
    for alert in alerts():
        assert alert_data(alert) == faust_data(alert)
        # The webhook body, written straight from the records, carries the same event.
        assert orjson.loads(cloudevents_json([alert], "io.listwatch")) == cloudevent(alert, "io.listwatch")
    both = alerts()
    assert orjson.loads(cloudevents_json(both, "p")) == [cloudevent(a, "p") for a in both]
