"""The `Lead`: WhatConverts lead JSON parsed once, absorbing the API's quirks.

Quirks handled here and nowhere else (reference/whatconverts-api.md §6): Title Case values out
and snake_case in, `[]` where an object is expected, nulls and empty strings, field-name
variants (`field_mappings` / `mapped_fields`, contact data in `contact_*`, top-level, `caller_*`
or only in form fields), the "In Progess" misspelling, and numbers sent as strings.
Unknown fields are kept in `raw`.

Any field can hold anything (platform truth W10: `1e999999999999999999`, year 1, `[]`, deep
lists), so no field can make parsing fail: what can't be read becomes None and is named in
`Lead.unreadable`, and the lead goes on with the rest.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

T = TypeVar("T")

LEAD_TYPES = (
    "phone_call",
    "web_form",
    "chat",
    "text_message",
    "email",
    "transaction",
    "appointment",
    "event",
    "other",
)
# Only calls and chats are ever "in progress" (webhook triggers: calls and chats completed / in
# progress). Other types can still carry a lead_state: the official transaction sample says
# "In Progess" (sic, platform truth W8), and a transaction never completes later.
PROGRESSING_TYPES = frozenset({"phone_call", "chat"})


# The readable range of a lead's dates: anything outside is junk (year 1, year 9999), and outside it
# timezone arithmetic can overflow. Slack's <!date^…> takes Unix seconds, so nothing before 1970.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
# Dates and numbers are short; anything longer is junk (and not worth the parser's time).
MAX_DATE = 64
MAX_NUMBER = 64
MAX_CALL_SECONDS = 10**7  # ~4 months; longer is a broken counter, not a call


def snake(value: object) -> str | None:
    """'Phone Call' → 'phone_call', 'Not Set' → 'not_set'; None for empty values."""
    if not isinstance(value, str) or not value.strip():
        return None
    return re.sub(r"[^a-z0-9]+", "_", value.strip().lower()).strip("_") or None


def text(value: object) -> str | None:
    """A non-empty string, or None (numbers become strings; objects and lists don't)."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        # str() of an int past 4,300 digits raises; no text field holds such a number.
        return str(value) if value.bit_length() <= 256 else None
    if isinstance(value, float):
        return str(value) if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else None
    return None


def mapping(value: object) -> dict[str, Any]:
    """An object field: `[]`, null or anything else that isn't an object becomes `{}`."""
    return {k: v for k, v in value.items() if isinstance(k, str)} if isinstance(value, Mapping) else {}


def _object(value: object) -> dict[str, Any] | None:
    return mapping(value) if isinstance(value, Mapping) else None


def number(value: object) -> Decimal | None:
    """A finite number of sane size ('$1,200.50' → 1200.50); None for anything else, never an exception."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        if value.bit_length() > 64:
            return None
        result = Decimal(value)
    elif isinstance(value, float | Decimal):
        result = Decimal(str(value))
    elif isinstance(value, str) and len(value) <= MAX_NUMBER:
        try:
            result = Decimal(value.replace(",", "").replace("$", "").strip())
        except ArithmeticError:  # decimal.InvalidOperation for "n/a"
            return None
    else:
        return None
    if not result.is_finite():
        return None
    if result.is_zero():
        return Decimal(0)
    # Beyond 10^15 (or below 10^-15) a "number" is junk or an attack; `adjusted()` needs no
    # arithmetic, which overflows the decimal context for exponents like 1e999999999999999999.
    return result if -15 <= result.adjusted() < 15 else None


def integer(value: object) -> int | None:
    result = number(value)
    return int(result) if result is not None else None


def identifier(value: object) -> int | None:
    """A positive whole number (12.5 is not an id, nor is 12.0 rounded from junk)."""
    result = number(value)
    if result is None or result <= 0 or result != result.to_integral_value():
        return None
    return int(result)


def seconds(value: object) -> int | None:
    result = integer(value)
    return result if result is not None and 0 <= result < MAX_CALL_SECONDS else None


def flag(value: object) -> bool | None:
    """true/false in the API's spellings; None when it says neither."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value) if value == value else None  # NaN is neither
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("true", "1", "yes"):
            return True
        if word in ("false", "0", "no", ""):
            return False
    return None


def timestamp(value: object) -> datetime | None:
    """'2025-05-28T19:19:51Z' (or '2025-05-28 19:19:51') → aware UTC datetime, within [1970, 2100)."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_DATE:
        return None
    raw = value.strip().replace(" ", "T").replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(raw)
        moment = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: 0001-01-01T00:00:00+05:00 is in year 0 in UTC
        return None
    return moment if EARLIEST <= moment < LATEST else None


class _Reader:
    """Reads a lead's fields one by one: a value that is there but can't be read becomes None and
    its name is kept, so one odd field costs that field only and is reported once, not the lead."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.unreadable: list[str] = []

    def __call__(self, key: str, read: Callable[[Any], T | None]) -> T | None:
        value = self.data.get(key)
        if value is None:
            return None
        try:
            result = read(value)
        except (ArithmeticError, ValueError, TypeError):  # the readers shouldn't raise; a lead never does
            result = None
        if result is None and not _empty(value) and key not in self.unreadable:
            self.unreadable.append(key)
        return result


def _empty(value: object) -> bool:
    """The API's ways of saying "nothing" (null, "", [] and {}): not a problem when a field holds one."""
    if isinstance(value, str):
        return not value.strip()
    return value is None or (isinstance(value, list | Mapping) and not value)


def _key(label: str) -> str:
    return re.sub(r"[^a-z]", "", label.lower())


def _find(fields: Mapping[str, Any], *wanted: str) -> str | None:
    """The first form field whose label, letters only, is one of `wanted` (or contains it, for '*x')."""
    normalized = {_key(k): v for k, v in fields.items() if isinstance(k, str)}
    for want in wanted:
        if want.startswith("*"):
            for key, value in normalized.items():
                if want[1:] in key and text(value):
                    return text(value)
        elif text(normalized.get(want)):
            return text(normalized[want])
    return None


def _type(kind: str | None) -> str:
    # WhatConverts names its event leads "Custom Event" (its webhook lead types list "Custom Events").
    aliases = {
        "call": "phone_call",
        "form": "web_form",
        "text": "text_message",
        "sms": "text_message",
        "custom_event": "event",
    }
    kind = aliases.get(kind or "", kind)
    return kind if kind in LEAD_TYPES else "other"


@dataclass(frozen=True)
class Lead:
    """One WhatConverts lead; past `from_api` nobody indexes the raw JSON."""

    lead_id: int
    lead_type: str
    date_created: datetime | None
    last_updated: datetime | None
    account_id: int | None
    account: str | None
    profile_id: int | None
    profile: str | None
    status: str | None  # unique / repeat
    state: str | None  # completed / in_progress
    spam: bool
    duplicate: bool
    quotable: str | None  # yes / no / pending / not_set
    quote_value: Decimal | None
    sales_value: Decimal | None
    source: str | None
    medium: str | None
    campaign: str | None
    content: str | None
    keyword: str | None
    lead_url: str | None
    landing_url: str | None
    contact_name: str | None
    contact_company: str | None
    contact_email: str | None
    contact_phone: str | None
    city: str | None
    region: str | None
    country: str | None
    form_name: str | None
    message: str | None
    notes: str | None
    summary: str | None
    call_duration_seconds: int | None
    call_status: str | None
    answer_status: str | None
    recording_url: str | None
    lead_score: int | None
    additional_fields: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    # API names of the fields that held something that couldn't be read (now None), for the problem list.
    unreadable: tuple[str, ...] = field(default=(), compare=False)

    @property
    def is_complete(self) -> bool:
        """Final unless a call or chat says anything but 'Completed' ('In Progess' included)."""
        return self.state in (None, "completed")

    @property
    def has_value(self) -> bool:
        return bool(self.quote_value) or bool(self.sales_value)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Lead:
        """Parse one lead object from the API or a webhook body.

        Never fails on a field: what can't be read is None and named in `unreadable`. The one
        ValueError is for a lead without a usable lead_id (nothing could track or dedupe it).
        """
        read = _Reader(data)
        lead_id = read("lead_id", identifier)
        if lead_id is None:
            raise ValueError("lead without a lead_id")
        fields = read("additional_fields", _object) or {}
        mapped = read("field_mappings", _object) or read("mapped_fields", _object) or {}
        forms = {**mapped, **fields}
        analysis = read("lead_analysis", _object) or {}
        name = (
            read("contact_name", text)
            or read("caller_name", text)
            or _find(forms, "name", "fullname", "contactperson", "yourname", "contactname")
            or " ".join(p for p in (_find(forms, "firstname"), _find(forms, "lastname")) if p)
            or None
        )
        state = read("lead_state", snake)
        lead_type = _type(read("lead_type", snake))
        in_progress = lead_type in PROGRESSING_TYPES and state not in (None, "completed")
        return cls(
            lead_id=lead_id,
            lead_type=lead_type,
            date_created=read("date_created", timestamp),
            last_updated=read("last_updated", timestamp),
            account_id=read("account_id", integer),
            account=read("account", text),
            profile_id=read("profile_id", integer),
            profile=read("profile", text),
            status=read("lead_status", snake),
            state="in_progress" if in_progress else "completed",
            spam=read("spam", flag) or False,
            duplicate=read("duplicate", flag) or False,
            quotable=read("quotable", snake),
            quote_value=read("quote_value", number),
            sales_value=read("sales_value", number),
            source=read("lead_source", text),
            medium=read("lead_medium", text),
            campaign=read("lead_campaign", text),
            content=read("lead_content", text),
            keyword=read("lead_keyword", text),
            lead_url=read("lead_url", text),
            landing_url=read("landing_url", text),
            contact_name=name,
            contact_company=read("contact_company_name", text) or _find(forms, "company", "companyname"),
            contact_email=read("contact_email_address", text)
            or read("email_address", text)
            or _find(forms, "email", "emailaddress", "*email"),
            contact_phone=read("contact_phone_number", text)
            or read("phone_number", text)
            or read("caller_number", text)
            or _find(forms, "phone", "phonenumber", "*phone"),
            city=read("city", text) or read("caller_city", text),
            region=read("state", text) or read("caller_state", text),
            country=read("country", text) or read("caller_country", text),
            form_name=read("form_name", text),
            message=read("message", text) or _find(forms, "message", "*message", "*comment", "*question"),
            notes=read("notes", text),
            summary=text(analysis.get("Lead Summary")),
            call_duration_seconds=read("call_duration_seconds", seconds),
            call_status=read("call_status", text),
            answer_status=read("answer_status", text),
            recording_url=read("play_recording", text) or read("recording", text),
            lead_score=read("lead_score", integer),
            additional_fields=forms,
            raw=mapping(data),
            unreadable=tuple(read.unreadable),
        )
