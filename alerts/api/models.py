"""Every request and response of the subscriptions API, written once: they validate input (strictly, unknown
fields refused) and they are the schemas of ``/v1/openapi.json``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

# The lowest match threshold a subscriber may ask for: below it nearly every name "matches" every entry.
MIN_THRESHOLD = 0.5

WatchId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Short = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Cursor = Annotated[str, StringConstraints(min_length=1, max_length=300)]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Response(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Query(BaseModel):
    model_config = ConfigDict(extra="forbid")  # query values arrive as strings: lax conversion


class Page(Query):
    limit: int = Field(100, ge=1, le=1000, description="items per page")
    cursor: Cursor | None = Field(None, description="next_cursor of the previous page")


# -- subscribers and keys ---------------------------------------------------------------------------------


class NewSubscriber(Request):
    name: Short


class SubscriberCreated(Response):
    id: str
    name: str
    api_key: str = Field(description="shown once; only its hash is kept")


class Subscriber(Response):
    id: str
    name: str
    created_at: datetime
    threshold: float


class SubscriberPage(Response):
    items: list[Subscriber]
    next_cursor: str | None


class Threshold(Request):
    threshold: float = Field(ge=MIN_THRESHOLD, le=1.0, description="minimum match score for an alert")


class ThresholdSet(Response):
    threshold: float


class ApiKey(Response):
    id: str
    created_at: datetime
    last4: str
    revoked_at: datetime | None


class ApiKeyList(Response):
    items: list[ApiKey]


class KeyCreated(Response):
    id: str
    api_key: str = Field(description="shown once")
    created_at: datetime


class KeyRotated(Response):
    id: str
    api_key: str = Field(description="shown once")
    replaces: str


# -- watchlist ----------------------------------------------------------------------------------------------


class WatchIn(Request):
    id: WatchId | None = Field(None, description="required on POST; on PUT taken from the path")
    name: Name
    alt_names: list[Name] = Field(default_factory=list, max_length=50)
    country: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        None, description="country name or ISO code; stored as ISO 3166-1 alpha-2"
    )
    uscc: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        None, description="Unified Social Credit Code, checked"
    )
    lei: Annotated[str, StringConstraints(max_length=40)] | None = Field(None, description="LEI, checked")
    tags: list[Short] = Field(default_factory=list, max_length=50)


class Watch(Response):
    id: str
    name: str
    alt_names: list[str]
    country: str | None
    uscc: str | None
    lei: str | None
    tags: list[str]


class WatchPage(Response):
    items: list[Watch]
    next_cursor: str | None
    total: int


class RowError(Response):
    row: int = Field(description="line of the CSV, the header being 1")
    reason: str


class ImportReport(Response):
    imported: int = Field(description="rows written: new companies and replaced ones")
    updated: int = Field(0, description="of those, companies that were on the watchlist already (replaced)")
    rejected: list[RowError] = Field(description="the first 1000 rejected rows, by line")
    rejected_count: int


class Standing(Response):
    source: str
    entry_key: str
    entry_name: str
    score: float
    reasons: list[str]
    list_kind: str | None
    list_colour: str | None
    since: datetime = Field(description="when this standing was last confirmed by an alert")


class StatusItem(Response):
    watch: Watch
    listed: bool
    matches: list[Standing]


class StatusPage(Response):
    threshold: float
    items: list[StatusItem]
    next_cursor: str | None


# -- alerts -------------------------------------------------------------------------------------------------


class AlertsQuery(Query):
    source: Short | None = None
    kind: Literal["added", "removed", "modified", "already_listed"] | None = None
    watch_id: WatchId | None = None
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None
    limit: int = Field(50, ge=1, le=500)
    cursor: Cursor | None = None
    acknowledged: bool | None = None


class AlertOut(Response):
    model_config = ConfigDict(extra="allow")  # an alert carries its list entries as published

    alert_id: str
    subscriber_id: str
    watch_id: str
    watch_name: str
    source: str
    entry_key: str
    entry_name: str
    kind: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    fields: list[dict[str, Any]]
    score: float
    reasons: list[str]
    change_event_id: str
    observed_at: str
    created_at: str


class AlertItem(AlertOut):
    acknowledged: bool


class AlertPage(Response):
    items: list[AlertItem]
    next_cursor: str | None


class Acknowledged(Response):
    acknowledged: bool


class Attempt(Response):
    at: datetime
    outcome: str
    status: int | None
    error: str | None
    duration_s: float


class DeliveryOut(Response):
    id: str
    endpoint_id: str
    status: str
    attempts: list[Attempt]
    next_attempt_at: datetime | None


class DeliveryList(Response):
    items: list[DeliveryOut]


# -- reviews ------------------------------------------------------------------------------------------------


class ReviewIn(Request):
    watch_id: WatchId
    source: Short
    entry_key: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    action: Literal["acknowledge", "false_positive", "suppress"]
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]
    expires_at: AwareDatetime | None = None


class ReviewOut(Response):
    id: str
    watch_id: str
    source: str
    entry_key: str
    action: str
    reason: str
    created_at: datetime
    expires_at: datetime | None


class ReviewPage(Response):
    items: list[ReviewOut]
    next_cursor: str | None


# -- endpoints ----------------------------------------------------------------------------------------------


class EndpointIn(Request):
    type: str | None = Field(None, description="the channel (see /v1/channels); fixed once created")
    url: Annotated[str, StringConstraints(min_length=1, max_length=2000)] | None = None
    address: Annotated[str, StringConstraints(min_length=3, max_length=254)] | None = None
    digest: bool | None = None
    description: Annotated[str, StringConstraints(max_length=500)] | None = None
    enabled: bool | None = None


class EndpointOut(Response):
    id: str
    type: str
    target: str
    created_at: datetime
    digest: bool
    enabled: bool
    disabled_reason: str | None
    description: str


class EndpointCreated(EndpointOut):
    secret: str | None = Field(None, description="a webhook's signing secret, shown once")


class EndpointList(Response):
    items: list[EndpointOut]


class TestResult(Response):
    delivered: bool
    error: str | None = None


# -- replay and dead letters --------------------------------------------------------------------------------


class ReplayIn(Request):
    since: AwareDatetime


class Replayed(Response):
    alerts: int
    deliveries: int


class DeadLetter(Response):
    id: str
    alert_id: str
    endpoint_id: str
    attempts: int
    last_error: str | None


class DeadLetterPage(Response):
    items: list[DeadLetter]
    next_cursor: str | None


class DeadReplayed(Response):
    deliveries: int
