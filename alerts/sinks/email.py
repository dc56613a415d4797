"""E-mail over SMTP (aiosmtplib): plain text and HTML, one alert or a digest of many per message."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from alerts.events import html_body, summary, text_body
from alerts.settings import SmtpSettings
from alerts.sinks.base import DeliveryError, InvalidTarget, Message, Policy, SinkMisconfigured


def build_email(message: Message, sender: str) -> EmailMessage:
    if message.endpoint is None:
        raise SinkMisconfigured("e-mail delivery without an endpoint")
    alerts = message.alerts
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = message.endpoint.target
    mail["Subject"] = (
        f"[listwatch] {summary(alerts[0])}" if len(alerts) == 1 else f"[listwatch] {len(alerts)} list changes"
    )
    mail["Message-ID"] = f"<{message.id}@listwatch>"
    mail.set_content(text_body(alerts))
    mail.add_alternative(html_body(alerts), subtype="html")
    return mail


class EmailSink:
    name = "email"
    policy = Policy(target_field="address", digests=True)

    def __init__(self, smtp: SmtpSettings) -> None:
        self._smtp = smtp

    async def check_target(self, target: str) -> str:
        local, at, domain = target.partition("@")
        if not (at and local and "." in domain and " " not in target and len(target) <= 254):
            raise InvalidTarget(f"address {target!r} is not an e-mail address")
        return target

    async def send(self, message: Message) -> None:
        if not self._smtp.host:
            raise SinkMisconfigured("no SMTP server configured (LISTWATCH_SMTP_HOST)")
        mail = build_email(message, self._smtp.sender)
        try:
            await aiosmtplib.send(
                mail,
                hostname=self._smtp.host,
                port=self._smtp.port,
                username=self._smtp.username,
                password=self._smtp.password.reveal() if self._smtp.password else None,
                use_tls=self._smtp.security == "tls",
                start_tls=True if self._smtp.security == "starttls" else None,
                timeout=self._smtp.timeout_s,
            )
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise SinkMisconfigured(f"SMTP authentication failed: {exc}") from None
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise SinkMisconfigured(f"recipient refused: {exc}") from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryError(f"SMTP: {exc}") from None

    async def aclose(self) -> None:
        return None
