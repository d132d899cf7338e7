"""The `Lead`: WhatConverts lead JSON parsed once, absorbing the API's quirks.

Quirks handled here and nowhere else (reference/whatconverts-api.md §6): Title Case values out
and snake_case in, `[]` where an object is expected, nulls and empty strings, field-name
variants (`field_mappings` / `mapped_fields`, contact data in `contact_*`, top-level, `caller_*`
or only in form fields), the "In Progess" misspelling, and numbers sent as strings.
Unknown fields are kept in `raw`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

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


def snake(value: object) -> str | None:
    """'Phone Call' → 'phone_call', 'Not Set' → 'not_set'; None for empty values."""
    if not isinstance(value, str) or not value.strip():
        return None
    return re.sub(r"[^a-z0-9]+", "_", value.strip().lower()).strip("_") or None


def text(value: object) -> str | None:
    """A non-empty string, or None (numbers become strings; objects and lists don't)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, str):
        stripped = value.strip()
        return stripped or None
    return None


def mapping(value: object) -> dict[str, Any]:
    """An object field: `[]`, null or anything else that isn't an object becomes `{}`."""
    return dict(value) if isinstance(value, Mapping) else {}


def number(value: object) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        result = Decimal(str(value).replace(",", "").replace("$", "").strip())
    except InvalidOperation:
        return None
    # Beyond 10^15 a "number" is junk or an attack (and huge exponents cost CPU to print).
    return result if result.is_finite() and abs(result) < 10**15 else None


def integer(value: object) -> int | None:
    result = number(value)
    return int(result) if result is not None else None


def boolean(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def timestamp(value: object) -> datetime | None:
    """'2025-05-28T19:19:51Z' (or '2025-05-28 19:19:51') → aware UTC datetime."""
    if not isinstance(value, str) or not value.strip():
        return None
    raw = value.strip().replace(" ", "T").replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


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


def _type(value: object) -> str:
    kind = snake(value)
    aliases = {"call": "phone_call", "form": "web_form", "text": "text_message", "sms": "text_message"}
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

    @property
    def is_complete(self) -> bool:
        """Anything but 'Completed' (including the 'In Progess' misspelling) is not final."""
        return self.state in (None, "completed")

    @property
    def has_value(self) -> bool:
        return bool(self.quote_value) or bool(self.sales_value)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Lead:
        """Parse one lead object from the API or a webhook body. Raises ValueError without a lead_id."""
        lead_id = integer(data.get("lead_id"))
        if lead_id is None or lead_id <= 0:
            raise ValueError("lead without a lead_id")
        fields = mapping(data.get("additional_fields"))
        mapped = mapping(data.get("field_mappings")) or mapping(data.get("mapped_fields"))
        forms = {**mapped, **fields}
        analysis = mapping(data.get("lead_analysis"))
        name = (
            text(data.get("contact_name"))
            or text(data.get("caller_name"))
            or _find(forms, "name", "fullname", "contactperson", "yourname", "contactname")
            or " ".join(p for p in (_find(forms, "firstname"), _find(forms, "lastname")) if p)
            or None
        )
        return cls(
            lead_id=lead_id,
            lead_type=_type(data.get("lead_type")),
            date_created=timestamp(data.get("date_created")),
            last_updated=timestamp(data.get("last_updated")),
            account_id=integer(data.get("account_id")),
            account=text(data.get("account")),
            profile_id=integer(data.get("profile_id")),
            profile=text(data.get("profile")),
            status=snake(data.get("lead_status")),
            state="completed" if snake(data.get("lead_state")) in (None, "completed") else "in_progress",
            spam=boolean(data.get("spam")),
            duplicate=boolean(data.get("duplicate")),
            quotable=snake(data.get("quotable")),
            quote_value=number(data.get("quote_value")),
            sales_value=number(data.get("sales_value")),
            source=text(data.get("lead_source")),
            medium=text(data.get("lead_medium")),
            campaign=text(data.get("lead_campaign")),
            content=text(data.get("lead_content")),
            keyword=text(data.get("lead_keyword")),
            lead_url=text(data.get("lead_url")),
            landing_url=text(data.get("landing_url")),
            contact_name=name,
            contact_company=text(data.get("contact_company_name")) or _find(forms, "company", "companyname"),
            contact_email=text(data.get("contact_email_address"))
            or text(data.get("email_address"))
            or _find(forms, "email", "emailaddress", "*email"),
            contact_phone=text(data.get("contact_phone_number"))
            or text(data.get("phone_number"))
            or text(data.get("caller_number"))
            or _find(forms, "phone", "phonenumber", "*phone"),
            city=text(data.get("city")) or text(data.get("caller_city")),
            region=text(data.get("state")) or text(data.get("caller_state")),
            country=text(data.get("country")) or text(data.get("caller_country")),
            form_name=text(data.get("form_name")),
            message=text(data.get("message")) or _find(forms, "message", "*message", "*comment", "*question"),
            notes=text(data.get("notes")),
            summary=text(analysis.get("Lead Summary")),
            call_duration_seconds=integer(data.get("call_duration_seconds")),
            call_status=text(data.get("call_status")),
            answer_status=text(data.get("answer_status")),
            recording_url=text(data.get("play_recording")) or text(data.get("recording")),
            lead_score=integer(data.get("lead_score")),
            additional_fields=forms,
            raw=dict(data),
        )
