"""Safe, streaming XML for list sources: lxml iterparse with entity expansion, DTD loading and network
access off, and a helper that flattens one record element into plain data for ``Entry.raw``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from lxml import etree

from monitor.sources.base import SnapshotError


def iter_records(stream: IO[bytes], tags: tuple[str, ...], name: str) -> Iterator[etree._Element]:
    """Yield each complete element named in ``tags`` (namespace-free local names), then free it.

    Entities are never expanded and no DTD or external resource is loaded, so billion-laughs and XXE
    documents cannot do harm; a document declaring entities is refused outright.
    """
    parser = etree.iterparse(
        stream, events=("end",), resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
        remove_comments=True, remove_pis=True,
    )  # fmt: skip
    seen_root = False
    try:
        for _, element in parser:
            if not seen_root:
                seen_root = True
                docinfo = element.getroottree().docinfo
                if docinfo.internalDTD is not None and len(docinfo.internalDTD.entities()) > 0:
                    raise SnapshotError(f"{name}: the document declares XML entities; refused")
            if etree.QName(element).localname in tags:
                yield element
                element.clear(keep_tail=False)
                parent = element.getparent()
                if parent is not None:
                    while element.getprevious() is not None:
                        del parent[0]
    except etree.XMLSyntaxError as exc:
        raise SnapshotError(f"{name}: not well-formed XML ({exc}); truncated download?") from exc


def text(element: etree._Element | None) -> str | None:
    """Whitespace-collapsed text of an element, None when empty."""
    if element is None or element.text is None:
        return None
    value = " ".join(element.text.split())
    return value or None


def flatten(element: etree._Element) -> dict[str, Any]:
    """An element as plain data: leaves become text, repeated children lists, empty ones dropped."""
    out: dict[str, Any] = {}
    for attr, attr_value in sorted(element.attrib.items()):
        out["@" + etree.QName(attr).localname] = attr_value
    grouped: dict[str, list[Any]] = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        value: Any = flatten(child) if len(child) or child.attrib else text(child)
        if value not in (None, {}):
            grouped.setdefault(etree.QName(child).localname, []).append(value)
    for key, values in grouped.items():
        out[key] = values[0] if len(values) == 1 else values
    return out
