"""Settings of the alerts service (API and delivery), built once at its entry point."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from contracts.settings import PREFIX, CommonSettings, SettingsError, env_bool, env_float, env_int, env_str

# Close to the Standard Webhooks schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, 24 h:
# about three days in all.
DEFAULT_RETRY_SCHEDULE = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0, 86400.0)


class Secret:
    """A secret that never shows: ``str``, ``repr`` and f-strings print stars; ``reveal()`` gives the value
    to the one place that needs it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class SmtpSettings:
    # LISTWATCH_SMTP_HOST: the mail server; "" disables e-mail delivery.
    host: str = ""
    # LISTWATCH_SMTP_PORT
    port: int = 25
    # LISTWATCH_SMTP_USERNAME: SMTP AUTH, when the server wants it.
    username: str | None = None
    # LISTWATCH_SMTP_PASSWORD: never shown (logs, reprs).
    password: Secret | None = None
    # LISTWATCH_SMTP_SECURITY: "none", "starttls" or "tls" (implicit TLS, usually port 465).
    security: str = "none"
    # LISTWATCH_SMTP_FROM: the sender address.
    sender: str = "listwatch@localhost"
    # LISTWATCH_SMTP_TIMEOUT_S
    timeout_s: float = 30.0


@dataclass(frozen=True)
class AlertsSettings:
    common: CommonSettings
    # LISTWATCH_ALERTS_CONSOLE: print every alert on stdout (operators, the demo).
    console: bool = True
    # LISTWATCH_ALERTS_FILE: append every alert as a JSON line to this file ("" disables it).
    file: Path | None = None
    # LISTWATCH_API_PORT: the subscriptions API on 127.0.0.1 (0 disables it).
    api_port: int = 8080
    # LISTWATCH_API_HOST
    api_host: str = "127.0.0.1"
    # LISTWATCH_ADMIN_TOKEN: bearer token of the administrator, who creates subscribers.
    admin_token: Secret | None = None
    # LISTWATCH_METRICS_PORT: /metrics, /healthz, /readyz of the alerts service (0 disables it).
    metrics_port: int = 9102
    # LISTWATCH_EVENT_TYPE_PREFIX: CloudEvents type prefix, e.g. "io.listwatch" -> io.listwatch.entry.added.
    event_type_prefix: str = "io.listwatch"
    # LISTWATCH_WEBHOOK_TIMEOUT_S: one delivery attempt.
    webhook_timeout_s: float = 15.0
    # LISTWATCH_RETRY_SCHEDULE_S: delays before each attempt, comma-separated (first usually 0).
    retry_schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE
    # LISTWATCH_WEBHOOK_ALLOW: networks a webhook may point into although private, loopback or link-local
    # (comma-separated CIDRs, e.g. 127.0.0.0/8 for tests). Empty: only public addresses.
    webhook_allow: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    # LISTWATCH_EMAIL_BURST: e-mails per subscriber and endpoint per window before alerts go into a digest.
    email_burst: int = 10
    # LISTWATCH_DIGEST_WINDOW_S: how long alerts gather before a digest goes out.
    digest_window_s: float = 60.0
    # LISTWATCH_WEBHOOK_RATE: webhook deliveries per subscriber per second; more wait their turn.
    webhook_rate: float = 20.0
    # LISTWATCH_DELIVERY_LEASE_S: how long a process holds the deliveries it claimed without renewing them; a
    # crashed process's claims return to the queue within this time.
    delivery_lease_s: float = 15.0
    # LISTWATCH_DELIVERY_BATCH: deliveries one process claims at a time.
    delivery_batch: int = 200
    # LISTWATCH_DELIVERY_CONCURRENCY: endpoints one process sends to at once (one endpoint's deliveries still
    # go one after another, in their order).
    delivery_concurrency: int = 50
    # LISTWATCH_WATCHLIST_MAX: companies one subscriber may watch (one tenant cannot exhaust the service).
    watchlist_max: int = 100_000
    # LISTWATCH_AUTH_FAILURES_PER_MIN: failed API-key attempts per client address and minute before 429s.
    auth_failures_per_min: int = 30
    # LISTWATCH_WEB_SESSION_TTL_S: how long a web page sign-in lasts (the session cookie and its record).
    web_session_ttl_s: int = 8 * 3600
    smtp: SmtpSettings = field(default_factory=SmtpSettings)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AlertsSettings:
        file = env.get(PREFIX + "ALERTS_FILE", "").strip()
        token = env.get(PREFIX + "ADMIN_TOKEN", "").strip()
        if token and len(token) < 16:
            raise SettingsError(f"{PREFIX}ADMIN_TOKEN must be at least 16 characters")
        schedule_text = env.get(PREFIX + "RETRY_SCHEDULE_S", "").strip()
        try:
            schedule = tuple(float(x) for x in schedule_text.split(",")) if schedule_text else DEFAULT_RETRY_SCHEDULE
        except ValueError:
            raise SettingsError(f"{PREFIX}RETRY_SCHEDULE_S must be comma-separated seconds") from None
        if not schedule or any(x < 0 for x in schedule):
            raise SettingsError(f"{PREFIX}RETRY_SCHEDULE_S must be non-negative seconds")
        allow = []
        for cidr in (c.strip() for c in env.get(PREFIX + "WEBHOOK_ALLOW", "").split(",") if c.strip()):
            try:
                allow.append(ipaddress.ip_network(cidr, strict=False))
            except ValueError:
                raise SettingsError(f"{PREFIX}WEBHOOK_ALLOW: {cidr!r} is not a network") from None
        security = env.get(PREFIX + "SMTP_SECURITY", "none").strip().lower()
        if security not in {"none", "starttls", "tls"}:
            raise SettingsError(f"{PREFIX}SMTP_SECURITY must be none, starttls or tls")
        password = env.get(PREFIX + "SMTP_PASSWORD")
        return cls(
            common=CommonSettings.from_env(env),
            console=env_bool(env, "ALERTS_CONSOLE", cls.console),
            file=Path(file) if file else None,
            api_port=env_int(env, "API_PORT", cls.api_port),
            api_host=env_str(env, "API_HOST", cls.api_host),
            admin_token=Secret(token) if token else None,
            metrics_port=env_int(env, "METRICS_PORT", cls.metrics_port),
            event_type_prefix=env_str(env, "EVENT_TYPE_PREFIX", cls.event_type_prefix),
            webhook_timeout_s=env_float(env, "WEBHOOK_TIMEOUT_S", cls.webhook_timeout_s, minimum=0.1),
            retry_schedule=schedule,
            webhook_allow=tuple(allow),
            email_burst=env_int(env, "EMAIL_BURST", cls.email_burst, minimum=1),
            digest_window_s=env_float(env, "DIGEST_WINDOW_S", cls.digest_window_s, minimum=0.1),
            webhook_rate=env_float(env, "WEBHOOK_RATE", cls.webhook_rate, minimum=0.1),
            watchlist_max=env_int(env, "WATCHLIST_MAX", cls.watchlist_max, minimum=1),
            delivery_lease_s=env_float(env, "DELIVERY_LEASE_S", cls.delivery_lease_s, minimum=0.5),
            delivery_batch=env_int(env, "DELIVERY_BATCH", cls.delivery_batch, minimum=1),
            delivery_concurrency=env_int(env, "DELIVERY_CONCURRENCY", cls.delivery_concurrency, minimum=1),
            auth_failures_per_min=env_int(env, "AUTH_FAILURES_PER_MIN", cls.auth_failures_per_min, minimum=1),
            web_session_ttl_s=env_int(env, "WEB_SESSION_TTL_S", cls.web_session_ttl_s, minimum=60),
            smtp=SmtpSettings(
                host=env.get(PREFIX + "SMTP_HOST", "").strip(),
                port=env_int(env, "SMTP_PORT", 25, minimum=1),
                username=env.get(PREFIX + "SMTP_USERNAME") or None,
                password=Secret(password) if password else None,
                security=security,
                sender=env_str(env, "SMTP_FROM", SmtpSettings.sender),
                timeout_s=env_float(env, "SMTP_TIMEOUT_S", SmtpSettings.timeout_s, minimum=0.1),
            ),
        )
