"""Numbers as people read them: a connection's money in its currency, phone numbers as dialled from its country.

Each connection has a currency (ISO 4217, default USD) and a country (ISO 3166 alpha-2, default
US), set with `/whatconverts connection <label> currency EUR` / `country GB`. Cards, lead lists,
digests and the notes under a card take them from a `Locale`.

Phone numbers come from leads, so from strangers: only text that looks like a phone number and
that `phonenumbers` reads as a valid number is reformatted and linked (`tel:` + E.164, digits and
"+" only). Anything else is returned as given, for the caller to escape; it never builds a link.

Spans of time (how long a lead waited before someone took it) read as "3 min", "2 h 5 min",
"1 d 4 h": whole units, rounded down, never "0 min".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import phonenumbers

DEFAULT_CURRENCY = "USD"
DEFAULT_COUNTRY = "US"


@dataclass(frozen=True)
class Locale:
    """How one connection's cards write money and phone numbers."""

    currency: str = DEFAULT_CURRENCY
    country: str = DEFAULT_COUNTRY


DEFAULT = Locale()

# ISO 4217 codes of currencies in use (2025), so a typo ("EURO", "US$") is refused rather than shown.
CURRENCIES = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD
    CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD
    GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT
    LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR
    NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP
    STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG
    XOF XPF YER ZAR ZMW ZWG
    """.split()
)
# Symbols people recognise without a doubt; every other currency is written with its code ("CHF 1,234.50").
# "$" alone means US dollars only: other dollars carry their country ("CA$"), as on invoices.
SYMBOLS = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "INR": "₹",
    "KRW": "₩",
    "ILS": "₪",
    "NGN": "₦",
    "PHP": "₱",
    "VND": "₫",
    "UAH": "₴",
    "CAD": "CA$",
    "AUD": "A$",
    "NZD": "NZ$",
    "MXN": "MX$",
    "HKD": "HK$",
    "BRL": "R$",
}
# ISO 4217 minor units where they aren't 2: no cents in yen, three decimals in dinars.
DECIMALS = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV"), 0),
    **dict.fromkeys(("XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}
# Countries `phonenumbers` knows how to dial: ISO 3166 alpha-2 (plus a few ITU extras such as AC, XK).
COUNTRIES = frozenset(phonenumbers.SUPPORTED_REGIONS)
# Common non-ISO spellings, answered with the code meant.
COUNTRY_HINTS = {"UK": "GB", "EN": "GB", "USA": "US"}

MAX_MAGNITUDE = 15  # 10^15 and more is junk, and formatting it in full could be huge


def money(value: Decimal, currency: str = DEFAULT_CURRENCY) -> str:
    """Decimal('1234.5') → '$1,234.50' (USD), '€1,234.50' (EUR), 'CHF 1,234.50'; 'unknown' when not finite."""
    # Only context-free operations: arithmetic (abs, <) on Decimal('1E+999999999999999999') overflows.
    if not value.is_finite():
        return "unknown"
    symbol = SYMBOLS.get(currency)
    prefix = symbol if symbol is not None else f"{currency} "
    if not value.is_zero() and value.adjusted() >= MAX_MAGNITUDE:
        return f"{prefix}{value:.3e}"
    amount = f"{value.copy_abs():,.{DECIMALS.get(currency, 2)}f}"
    sign = "-" if value.is_signed() and amount.strip("0.,") else ""
    return f"{sign}{prefix}{amount}"


def currency_code(word: str) -> str:
    """A typed currency as its ISO 4217 code ('eur' → 'EUR'); ValueError saying what is wrong."""
    code = word.strip().upper()
    if code not in CURRENCIES:
        raise ValueError("a currency is a three-letter ISO 4217 code, such as USD, EUR, GBP or CAD")
    return code


def country_code(word: str) -> str:
    """A typed country as its ISO 3166 alpha-2 code ('gb' → 'GB'); ValueError saying what is wrong."""
    code = word.strip().upper()
    if code in COUNTRY_HINTS:
        raise ValueError(f"the ISO code of that country is {COUNTRY_HINTS[code]}")
    if code not in COUNTRIES:
        raise ValueError("a country is a two-letter ISO 3166 code, such as US, GB, CA or DE")
    return code


# --------------------------------------------------------------------------- phone numbers

# What a phone number is typed as: digits and the usual separators, maybe "+", maybe an extension.
# Text with anything else in it ("call me after 5 on 555…") is shown as given, not mined for digits.
_PHONE_TEXT = re.compile(r"\+?[\d\s().\-/]{3,40}(?:\s*(?:ext\.?|x|#)\s*\d{1,6})?", re.IGNORECASE)
# What phonenumbers writes, and so all a linked number may show: nothing mrkdwn reads as markup.
_LINK_LABEL = re.compile(r"[\d +()\-.]+(?: ext\. \d+)?")
_E164 = re.compile(r"\+\d{2,15}")


@dataclass(frozen=True)
class Phone:
    """A phone number as shown (`text`) and, when it is a real number, its E.164 form for `tel:`.

    With `e164` set, `text` is phonenumbers' own output (digits, spaces, `+-().`, " ext. 12"):
    safe as a link label as it is.
    """

    text: str
    e164: str | None = None


def phone(raw: str, country: str = DEFAULT_COUNTRY) -> Phone:
    """'+17045550101' → (704) 555-0101 in the US, '+1 704-555-0101' elsewhere; junk → itself, unlinked."""
    raw = raw.strip()
    if not _PHONE_TEXT.fullmatch(raw):
        return Phone(raw)
    try:
        number = phonenumbers.parse(raw, country if country in COUNTRIES else DEFAULT_COUNTRY)
    except phonenumbers.NumberParseException:
        return Phone(raw)
    if not phonenumbers.is_valid_number(number):
        return Phone(raw)
    home = phonenumbers.region_code_for_number(number) == country
    shown = phonenumbers.format_number(
        number, phonenumbers.PhoneNumberFormat.NATIONAL if home else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # Both go into a link: checked, not trusted to a library's formats.
    if not (_E164.fullmatch(e164) and _LINK_LABEL.fullmatch(shown)):
        return Phone(raw)
    return Phone(shown, e164)


def typed_phone(raw: str, country: str = DEFAULT_COUNTRY) -> Phone | None:
    """A number someone typed to look it up, dialled from `country`: its E.164 form and its international
    form ('+1 704-555-0101'), when phonenumbers finds it possible as a whole number; None otherwise.

    Possible, not valid: a number a lead gave may be one phonenumbers' tables don't know yet. A local
    number without its area code ('555-0101') is not a whole number.
    """
    raw = raw.strip()
    if not _PHONE_TEXT.fullmatch(raw):
        return None
    try:
        number = phonenumbers.parse(raw, country if country in COUNTRIES else DEFAULT_COUNTRY)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_possible_number_with_reason(number) != phonenumbers.ValidationResult.IS_POSSIBLE:
        return None
    number.extension = None  # leads store the number without it: show what is looked up
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    shown = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    if not (_E164.fullmatch(e164) and _LINK_LABEL.fullmatch(shown)):
        return None
    return Phone(shown, e164)


def example_phone(country: str) -> str | None:
    """A made-up number of `country` as its cards would show it ('(201) 555-0123' for US)."""
    number = phonenumbers.example_number(country)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL) if number else None


# --------------------------------------------------------------------------- spans of time

UNDER_A_MINUTE = "under a minute"


def elapsed(span: timedelta) -> str:
    """timedelta(minutes=3, seconds=40) → '3 min'; '2 h 5 min', '1 d 4 h'; 'under a minute' below one
    (a negative span, from two clocks a little apart, reads as none)."""
    minutes = int(max(span.total_seconds(), 0) // 60)
    if minutes < 1:
        return UNDER_A_MINUTE
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
