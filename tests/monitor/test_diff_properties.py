"""Property tests of the differ: whatever two snapshots are, the changes turn the old into the new."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.models import Entry, Identifier
from monitor.diff import ParsedSnapshot, decode_entry, diff, encode_entry
from monitor.spool import EntrySpool

NOW = datetime(2026, 1, 1, tzinfo=UTC)

entries = st.builds(
    Entry,
    key=st.text(alphabet="0123456789", min_size=1, max_size=3),
    name=st.text(min_size=1, max_size=12),
    aliases=st.lists(st.text(max_size=8), max_size=2),
    programs=st.lists(st.sampled_from(["CUBA", "SDGT", "RUSSIA-EO14024"]), max_size=2),
    identifiers=st.lists(
        st.builds(Identifier, scheme=st.sampled_from(["uscc", "imo"]), value=st.text(max_size=6)), max_size=1
    ),
    raw=st.dictionaries(st.sampled_from(["a", "b"]), st.text(max_size=4), max_size=2),
)
snapshots = st.lists(entries, max_size=15).map(lambda es: {e.key: encode_entry(e) for e in es})


@settings(max_examples=200, deadline=None)
@given(old=snapshots, new=snapshots)
def test_changes_turn_old_into_new(old: dict[str, bytes], new: dict[str, bytes]) -> None:
    changes = list(diff("s", old, "a", ParsedSnapshot("b", EntrySpool.of(new)), NOW))
    state = dict(old)
    for change in changes:
        if change.change == "removed":
            assert change.before is not None
            assert change.after is None
            del state[change.entry_key]
        else:
            assert change.after is not None
            state[change.entry_key] = encode_entry(change.after)
        if change.change == "modified":
            assert change.fields, "a modification always names the fields that changed"
    assert state == new
    assert len({c.event_id for c in changes}) == len(changes)
    assert all(not c.baseline for c in changes)


@settings(max_examples=100, deadline=None)
@given(snapshot=snapshots)
def test_identical_snapshots_give_nothing_and_entries_round_trip(snapshot: dict[str, bytes]) -> None:
    assert list(diff("s", snapshot, "a", ParsedSnapshot("a", EntrySpool.of(snapshot)), NOW)) == []
    for data in snapshot.values():
        assert encode_entry(decode_entry(data)) == data
