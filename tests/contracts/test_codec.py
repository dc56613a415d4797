from __future__ import annotations

import re
import zlib

import orjson
import pytest

from contracts import codec
from contracts.models import Alert, ChangeKind, Entry, FieldChange, Identifier, ListChange
from streams.enrich.change import enrich
from streams.list_state import ListedEntry, decode, encode
from tests.alerts.test_events import alerts, faust_data
from tests.factories import change, entry


def _modified() -> ListChange:
    return change(
        ChangeKind.MODIFIED,
        before=entry(programs=["CUBA"], raw={"ent_num": "36", "Remarks": "a; b"}),
        after=entry(programs=["CUBA", "SDGT"], identifiers=[Identifier(scheme="uscc", value="X")], aliases=["B"]),
        fields=[FieldChange(field="programs", before=["CUBA"], after=["CUBA", "SDGT"])],
    )


def test_reads_faust_json_as_faust_does() -> None:
    original = _modified()
    ours, fausts = codec.loads(ListChange, original.dumps()), ListChange.loads(original.dumps())
    assert ours == fausts == original
    assert isinstance(ours.after, Entry)
    assert isinstance(ours.after.identifiers[0], Identifier)
    assert isinstance(ours.fields[0], FieldChange)
    assert ours.observed_at == original.observed_at
    assert ours.observed_at.tzinfo is not None
    assert ours.dumps() == original.dumps()  # faust writes it back the same


def test_writes_faust_json_without_type_tags_and_reads_it_back() -> None:
    original = _modified()
    written = codec.dumps(original)
    assert b"__faust" not in written
    assert orjson.loads(written) == faust_data(original)
    assert codec.loads(ListChange, written) == original


def test_alerts_round_trip() -> None:
    for original in alerts():
        assert codec.loads(Alert, codec.dumps(original)) == original == codec.loads(Alert, original.dumps())


def test_list_state_reads_what_faust_wrote_before_and_what_it_writes_now() -> None:
    enriched = enrich(change(ChangeKind.ADDED, after=entry(aliases=["Other Name"])))
    listed = ListedEntry(source="s", entry=enriched.change.after, enrichment=enriched.enrichment, event_id="e")
    for stored in (encode(listed), zlib.compress(listed.dumps(), 1), listed.dumps()):
        back = decode(stored)
        assert back == listed
        assert back.enrichment.names[0].core == listed.enrichment.names[0].core


# Written by encode() with the list state's first preset dictionary (2026-11-29): it must stay readable.
_STORED_V1 = bytes.fromhex(
    "01434a1ff96989c9f1c52920db810a90d389b119500c9a521c5d83fc9d1d833c9d9c5c1dfd141c3d837c3cfd5c8381f288f4a3e4"
    "985a94afe09c58949994949a98a704f425aabb4af3b2f3f2cb4116110a1d9a2528688a232529e1f4394ad24804fa3d19e675056"
    "029929399078c6b7882c1298f3319e1d0819644d1c21c2dc182cc50803b0bd53528e2785d81a492c4a40d096e621235442552b"
    "28608e04a40b85276aaa1522d00"
)


def test_list_state_entries_stay_readable_and_the_dictionary_pays() -> None:
    back = decode(_STORED_V1)
    assert (back.source, back.entry.key, back.entry.aliases) == ("ofac_sdn", "36", ["Aero Caribbean"])
    assert back.enrichment.names[1].core == "aero caribbean"
    assert len(encode(back)) < len(zlib.compress(codec.dumps(back), 1)) * 0.6


def test_missing_defaults_are_not_shared() -> None:
    first = codec.loads(Entry, b'{"key": "1", "name": "A"}')
    second = codec.loads(Entry, b'{"key": "2", "name": "B"}')
    first.aliases.append("x")
    first.raw["y"] = 1
    assert second.aliases == []
    assert second.raw == {}
    assert Entry(key="3", name="C").aliases == []


def test_unknown_fields_are_ignored() -> None:
    loaded = codec.loads(Identifier, b'{"scheme": "lei", "value": "V", "added_later": 1}')
    assert loaded == Identifier(scheme="lei", value="V")
    assert "added_later" not in loaded.asdict()


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"", "ListChange: not JSON"),
        (b"{not json", "ListChange: not JSON"),
        (b"[1, 2]", "ListChange: expected an object, got list"),
        (b'{"event_id": "e"}', "ListChange: missing change, entry_key, fields"),
    ],
)
def test_bad_input_says_what_is_wrong(raw: bytes, says: str) -> None:
    with pytest.raises(codec.RecordDecodeError, match=says):
        codec.loads(ListChange, raw)


def test_bad_nested_values_say_where() -> None:
    data = orjson.loads(_modified().dumps())
    with pytest.raises(codec.RecordDecodeError, match=re.escape("ListChange.fields: expected a list, got str")):
        codec.from_data(ListChange, {**data, "fields": "programs"})
    with pytest.raises(
        codec.RecordDecodeError, match=re.escape("ListChange.observed_at: not an ISO date: 'yesterday'")
    ):
        codec.from_data(ListChange, {**data, "observed_at": "yesterday"})
    with pytest.raises(codec.RecordDecodeError, match="Entry: expected an object, got int"):
        codec.from_data(ListChange, {**data, "after": 5})
