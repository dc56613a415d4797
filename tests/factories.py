"""Small builders for events used across tests."""

from __future__ import annotations

from datetime import UTC, datetime

from contracts.models import ChangeKind, Entry, FieldChange, Identifier, ListChange, change_event_id


def entry(key: str = "36", name: str = "AEROCARIBBEAN AIRLINES", **kw: object) -> Entry:
    return Entry(key=key, name=name, **kw)  # type: ignore[arg-type]


def change(
    kind: ChangeKind = ChangeKind.ADDED,
    before: Entry | None = None,
    after: Entry | None = None,
    source: str = "ofac_sdn",
    baseline: bool = False,
    fields: list[FieldChange] | None = None,
    observed_at: datetime = datetime(2021, 11, 12, 18, 47, tzinfo=UTC),
) -> ListChange:
    if before is None and after is None:
        after = entry()
    key = (after or before).key  # type: ignore[union-attr]
    return ListChange(
        event_id=change_event_id(source, key, kind.value, before, after),
        source=source,
        entry_key=key,
        change=kind.value,
        before=before,
        after=after,
        fields=fields or [],
        snapshot_before=None if baseline else "before-hash",
        snapshot_after="after-hash",
        observed_at=observed_at,
        baseline=baseline,
    )


__all__ = ["Identifier", "change", "entry"]


_SYLLABLES = ("ka", "lo", "mi", "re", "tu", "va", "ne", "do", "si", "ba", "qu", "zo", "pa", "ty", "gu", "fe")


def _made_up_word(n: int) -> str:
    n = (n * 2654435761) % 2**32  # scrambled: neighbours share no leading syllables
    out = []
    for _ in range(5):
        n, digit = divmod(n, len(_SYLLABLES))
        out.append(_SYLLABLES[digit])
    return "".join(out).capitalize()


def made_up_name(n: int) -> str:
    """A company name of made-up words, the same for the same ``n`` and distinct between neighbours (names
    sharing one rare word would all be candidates of each other). Used by tests and benchmarks."""
    return f"{_made_up_word(n)} {_made_up_word(n * 7919 + 13)} Trading Limited"
