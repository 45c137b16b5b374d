"""Validation of the signing form: a plain function, because signing is the hot path (a DRF
serializer costs several times more per request). `petitions.serializers` documents the same
fields for the API schema.

Errors are collected per field, so one 400 names every wrong field at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from email_validator import EmailNotValidError, validate_email

# ISO 3166-1 alpha-2 (officially assigned codes).
COUNTRY_CODES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR
    BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ
    EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW
    GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY
    KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV
    MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY
    QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG
    TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM
    ZW
    """.split()
)

# Postcode patterns of the countries the campaigns reach most; others use the generic pattern.
# Postcodes are compared upper-cased with surrounding whitespace stripped.
POSTCODE_PATTERNS: dict[str, re.Pattern[str]] = {
    code: re.compile(pattern)
    for code, pattern in {
        "DE": r"\d{5}",
        "AT": r"\d{4}",
        "CH": r"\d{4}",
        "LI": r"\d{4}",
        "BE": r"\d{4}",
        "DK": r"\d{4}",
        "LU": r"(L-?)?\d{4}",
        "NL": r"\d{4} ?[A-Z]{2}",
        "FR": r"\d{5}",
        "IT": r"\d{5}",
        "ES": r"\d{5}",
        "PL": r"\d{2}-\d{3}",
        "CZ": r"\d{3} ?\d{2}",
        "SE": r"\d{3} ?\d{2}",
        "GB": r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}",
        "US": r"\d{5}(-\d{4})?",
    }.items()
}
GENERIC_POSTCODE = re.compile(r"[A-Z0-9][A-Z0-9 -]{0,9}")

FORMULA_PREFIXES = ("=", "+", "-", "@")
NAME_MAX = 100
TEXT_FIELDS_MAX = {
    "city": 100,
    "utm_source": 100,
    "utm_medium": 100,
    "utm_campaign": 100,
    "referrer": 500,
}
BOOL_FIELDS = ("newsletter_consent", "updates_consent", "show_name_publicly", "share_name_with_officials")
KNOWN_FIELDS = frozenset(
    {
        "first_name",
        "last_name",
        "email",
        "postcode",
        "country",
        "city",
        "privacy_consent",
        "consent_version",
        "locale",
        "website",
        "altcha",
        *BOOL_FIELDS,
        *TEXT_FIELDS_MAX,
    }
)
# Control characters have no place in a form field (and break CSV exports and mail headers).
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
WEB_ADDRESS = re.compile(r"://|\bwww\.|\.(com|net|org|de|ru|info|xyz|io)\b|<|>", re.IGNORECASE)


@dataclass(frozen=True)
class SignatureInput:
    first_name: str
    last_name: str
    email: str
    email_normalized: str
    email_domain: str
    postcode: str
    country: str
    city: str
    locale: str
    consent_version: str
    newsletter_consent: bool
    updates_consent: bool
    show_name_publicly: bool
    share_name_with_officials: bool
    utm_source: str
    utm_medium: str
    utm_campaign: str
    referrer: str
    honeypot_filled: bool
    altcha: str


class SignatureInputError(Exception):
    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__("invalid signature input")
        self.fields = fields


def email_normalize(email: str) -> tuple[str, str]:
    """The dedupe key of an address and its domain: lower-case, `+tag` dropped, and for Gmail
    the dots dropped and googlemail.com merged into gmail.com (they are the same mailbox)."""
    local, _, domain = email.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in GMAIL_DOMAINS:
        domain = "gmail.com"
        local = local.replace(".", "")
    return f"{local}@{domain}", domain


def _text(data: dict[str, Any], name: str, errors: dict[str, list[str]], *, max_length: int) -> str:
    value = data.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[name] = [_("Must be a string.")]
        return ""
    value = value.strip()
    if len(value) > max_length:
        errors[name] = [_("At most %(count)d characters.") % {"count": max_length}]
    elif CONTROL_CHARS.search(value):
        errors[name] = [_("Contains control characters.")]
    return value


def _bool(data: dict[str, Any], name: str, errors: dict[str, list[str]]) -> bool:
    value = data.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        errors[name] = [_("Must be true or false.")]
        return False
    return value


def _name(data: dict[str, Any], name: str, errors: dict[str, list[str]]) -> str:
    value = _text(data, name, errors, max_length=NAME_MAX)
    if name in errors:
        return value
    if not value:
        errors[name] = [_("This field is required.")]
    elif value.startswith(FORMULA_PREFIXES):
        errors[name] = [_("Must not start with = + - or @.")]
    elif WEB_ADDRESS.search(value):
        # The name is repeated in the confirmation mail: a link there would turn the form into
        # a way to mail spam to anyone.
        errors[name] = [_("Must not contain a web address.")]
    return value


def signature_input_validate(data: Any, *, consent_version: str) -> SignatureInput:
    """Checks the signing form. Raises SignatureInputError naming every wrong field."""
    if not isinstance(data, dict):
        raise SignatureInputError({"non_field_errors": [_("Expected a JSON object.")]})
    errors: dict[str, list[str]] = {}
    for name in sorted(set(data) - KNOWN_FIELDS):
        errors[name] = [_("Unknown field.")]

    first_name = _name(data, "first_name", errors)
    last_name = _name(data, "last_name", errors)

    email = _text(data, "email", errors, max_length=254)
    email_normalized = email_domain = ""
    if "email" not in errors:
        if not email:
            errors["email"] = [_("This field is required.")]
        else:
            try:
                # No DNS: there is no network in tests, and a slow lookup must not sit on the
                # request path.
                checked = validate_email(email, check_deliverability=False)
            except EmailNotValidError:
                errors["email"] = [_("Enter a valid e-mail address.")]
            else:
                email = checked.normalized
                email_normalized, email_domain = email_normalize(email)

    country = _text(data, "country", errors, max_length=2).upper()
    if "country" not in errors:
        if not country:
            errors["country"] = [_("This field is required.")]
        elif country not in COUNTRY_CODES:
            errors["country"] = [_("Must be an ISO 3166-1 alpha-2 country code.")]

    postcode = _text(data, "postcode", errors, max_length=16).upper()
    if "postcode" not in errors and "country" not in errors:
        pattern = POSTCODE_PATTERNS.get(country)
        if pattern is not None and not postcode:
            errors["postcode"] = [_("This field is required.")]
        elif postcode and not (pattern or GENERIC_POSTCODE).fullmatch(postcode):
            errors["postcode"] = [_("Not a valid postcode for this country.")]

    texts = {name: _text(data, name, errors, max_length=limit) for name, limit in TEXT_FIELDS_MAX.items()}
    if texts["city"].startswith(FORMULA_PREFIXES) and "city" not in errors:
        errors["city"] = [_("Must not start with = + - or @.")]

    if data.get("privacy_consent") is not True:
        errors["privacy_consent"] = [_("You must agree to the privacy policy.")]

    version = data.get("consent_version")
    if not isinstance(version, str) or not version:
        errors["consent_version"] = [_("This field is required.")]
    elif version != consent_version:
        errors["consent_version"] = [_("The consent text has changed; please reload the page.")]

    locale = data.get("locale", "de")
    if locale not in ("de", "en"):
        errors["locale"] = [_("Must be de or en.")]

    flags = {name: _bool(data, name, errors) for name in BOOL_FIELDS}

    website = data.get("website", "")
    if website is not None and not isinstance(website, str):
        errors["website"] = [_("Must be a string.")]
    altcha = data.get("altcha", "")
    if altcha is None:
        altcha = ""
    if not isinstance(altcha, str) or len(altcha) > 4000:
        errors["altcha"] = [_("Must be the solved challenge as a string.")]

    if errors:
        raise SignatureInputError(errors)
    return SignatureInput(
        first_name=first_name,
        last_name=last_name,
        email=email,
        email_normalized=email_normalized,
        email_domain=email_domain,
        postcode=postcode,
        country=country,
        city=texts["city"],
        locale=locale,
        consent_version=consent_version,  # the submitted version, checked equal above
        utm_source=texts["utm_source"],
        utm_medium=texts["utm_medium"],
        utm_campaign=texts["utm_campaign"],
        referrer=texts["referrer"],
        honeypot_filled=bool(website and website.strip()),
        altcha=altcha,
        **flags,
    )
