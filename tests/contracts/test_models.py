from __future__ import annotations

from contracts.models import (
    Alert,
    ChangeKind,
    Entry,
    FieldChange,
    Identifier,
    ListChange,
    build,
    canonical_json,
    change_event_id,
    entry_json,
)
from tests.factories import change, entry


def test_list_change_round_trips_through_json() -> None:
    original = change(
        ChangeKind.MODIFIED,
        before=entry(programs=["CUBA"]),
        after=entry(programs=["CUBA", "SDGT"], identifiers=[Identifier(scheme="uscc", value="X")]),
        fields=[FieldChange(field="programs", before=["CUBA"], after=["CUBA", "SDGT"])],
    )
    loaded = ListChange.loads(original.dumps())
    assert loaded == original
    assert isinstance(loaded.after, Entry)
    assert loaded.after.identifiers[0].value == "X"
    assert loaded.observed_at.tzinfo is not None
    assert loaded.fields[0].after == ["CUBA", "SDGT"]


def test_event_id_is_deterministic_and_content_sensitive() -> None:
    a = entry(programs=["CUBA"])
    same = entry(programs=["CUBA"])
    other = entry(programs=["IRAN"])
    assert change_event_id("s", "36", "added", None, a) == change_event_id("s", "36", "added", None, same)
    assert change_event_id("s", "36", "added", None, a) != change_event_id("s", "36", "added", None, other)
    assert change_event_id("s", "36", "added", None, a) != change_event_id("s", "36", "removed", a, None)
    assert change_event_id("s", "36", "added", None, a) != change_event_id("t", "36", "added", None, a)


def test_entry_defaults_are_not_shared() -> None:
    first, second = Entry(key="1", name="A"), Entry(key="2", name="B")
    first.aliases.append("alias")
    first.raw["x"] = 1
    assert second.aliases == []
    assert second.raw == {}


def test_current_prefers_after_then_before() -> None:
    removed = change(ChangeKind.REMOVED, before=entry(name="OLD"), after=None)
    assert removed.current.name == "OLD"


def test_alert_schema_names_every_documented_field() -> None:
    documented = {
        "alert_id", "subscriber_id", "watch_id", "watch_name", "source", "entry_key", "entry_name", "kind",
        "before", "after", "fields", "score", "reasons", "change_event_id", "observed_at", "created_at",
        "schema_version", "list_kind", "list_colour", "jurisdiction", "removal", "provisional_for", "confirms",
    }  # fmt: skip
    assert set(Alert._options.fields) == documented


def test_entry_json_is_the_canonical_json_of_the_built_entry() -> None:
    """``entry_json`` (a source's fields straight to the stored form) against the record built and encoded."""
    cases: list[dict[str, object]] = [
        {"key": "1", "name": "ACME"},
        {"key": "2", "name": "华为技术有限公司", "aliases": ["Huawei", "Huawei"], "entity_type": "entity",
         "identifiers": [Identifier(scheme="uscc", value="914403001922038216")], "countries": ["China"],
         "addresses": ["Shenzhen"], "programs": ["ENTITY LIST"], "listed_on": "2019-05-16", "end_date": None,
         "remarks": "r", "source_url": "https://example.org/2",
         "raw": {"SDN_Name": "HUAWEI", "Title": None, "Remarks": "r"}},
        {"key": "3", "name": "X", "raw": {"only": None}},
    ]
    for fields in cases:
        expected = canonical_json(build(Entry, fields).content())
        assert entry_json(fields) == expected
        assert entry_json(fields) == canonical_json(Entry(**fields).content())  # type: ignore[arg-type]


def test_a_built_records_records_are_read_as_they_are_and_it_equals_the_constructors() -> None:
    after = entry("E1", "Acme Trading Co", identifiers=[Identifier(scheme="uscc", value="91310000MA1FL00001")])
    fields = [build(FieldChange, {"field": "name", "before": "Acme", "after": "Acme Trading Co"})]
    made = change(ChangeKind.MODIFIED, before=entry("E1", "Acme"), after=after)
    state = {k: made.__dict__[k] for k in ListChange._options.fields}
    built = build(ListChange, {**state, "after": after, "fields": fields}, post_init=False)
    assert built.__evaluated_fields__ == {"before", "after", "fields"}
    assert built.after is after
    assert built.fields[0] is fields[0]
    assert built == ListChange(**{**state, "after": after, "fields": fields})
    again = build(Entry, after.__dict__)
    assert again.__evaluated_fields__ == {"identifiers"}
    assert again.identifiers == after.identifiers
    assert isinstance(again.identifiers[0], Identifier)
    assert again == after
