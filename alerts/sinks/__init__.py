"""The channels subscribers can point endpoints at, one module each; built here from the settings."""

from __future__ import annotations

from alerts.settings import AlertsSettings
from alerts.sinks.apprise import AppriseSink
from alerts.sinks.base import Channel
from alerts.sinks.email import EmailSink
from alerts.sinks.webhook import WebhookSink


def channels(settings: AlertsSettings) -> dict[str, Channel]:
    """Every channel by name; the caller owns them (``aclose`` each when done)."""
    built: list[Channel] = [WebhookSink(settings), EmailSink(settings.smtp), AppriseSink(settings.webhook_allow)]
    return {channel.name: channel for channel in built}
