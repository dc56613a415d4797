"""How an alert looks to the outside: a CloudEvents 1.0 JSON event, plain text and HTML."""

from __future__ import annotations

import html
from typing import Any

import orjson

from contracts.models import Alert


def alert_data(alert: Alert) -> dict[str, Any]:
    """The alert as plain JSON (faust's namespace fields removed)."""
    stripped: dict[str, Any] = _strip(orjson.loads(alert.dumps()))
    return stripped


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k != "__faust"}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def event_type(prefix: str, kind: str) -> str:
    return f"{prefix}.entry.{kind}"


def cloudevent(alert: Alert, prefix: str) -> dict[str, Any]:
    """CloudEvents 1.0, structured JSON mode. ``id`` is the alert id, so receivers deduplicate on it."""
    return {
        "specversion": "1.0",
        "id": alert.alert_id,
        "source": f"/listwatch/lists/{alert.source}",
        "type": event_type(prefix, alert.kind),
        "subject": f"watch/{alert.watch_id}",
        "time": alert.created_at.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": alert_data(alert),
    }


def summary(alert: Alert) -> str:
    kind = alert.kind.replace("_", " ")
    return f"{alert.watch_name}: {kind} on {alert.source} as {alert.entry_name!r} (score {alert.score:.2f})"


def text_body(alerts: list[Alert]) -> str:
    lines = []
    for alert in alerts:
        lines.append(summary(alert))
        lines.append(f"  list entry: {alert.source}:{alert.entry_key}; observed {alert.observed_at.isoformat()}")
        lines.extend(f"  why: {reason}" for reason in alert.reasons)
        lines.extend(f"  changed: {f.field}: {f.before!r} -> {f.after!r}" for f in alert.fields[:10])
        lines.append(f"  alert id: {alert.alert_id}")
        lines.append("")
    return "\n".join(lines)


def html_body(alerts: list[Alert]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(a.watch_name)}</td><td>{html.escape(a.kind.replace('_', ' '))}</td>"
        f"<td>{html.escape(a.source)}</td><td>{html.escape(a.entry_name)}</td><td>{a.score:.2f}</td>"
        f"<td>{html.escape('; '.join(a.reasons))}</td></tr>"
        for a in alerts
    )
    return (
        "<html><body><table border='1' cellpadding='4'><tr><th>Watched company</th><th>Change</th>"
        f"<th>List</th><th>Listed as</th><th>Score</th><th>Why</th></tr>{rows}</table></body></html>"
    )
