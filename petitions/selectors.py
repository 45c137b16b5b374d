"""Reads of the petitions app. The hot public reads (the count, the petition as the sign path
needs it) are served from a short per-process cache: the counts only change once per counter
pass anyway, and a dict lookup beats any network round trip (measured: Redis reached ~0.55x of
a bare view, a per-process cache ~0.9x)."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from campaign.exceptions import ApplicationError
from campaign.models import Campaign
from campaign.switches import switch_message
from petitions.hashing import consent_text_hash, token_hash
from petitions.models import Petition, Signature, SignatureToken
from petitions.signing import PetitionForSigning, petition_is_open

_cache: dict[tuple[str, str], tuple[float, Any]] = {}
_CACHE_MAX_ENTRIES = 2000


def _cached(kind: str, key: str, ttl: float, load: Any) -> Any:
    now = time.monotonic()
    hit = _cache.get((kind, key))
    if hit is not None and hit[0] > now:
        return hit[1]
    value = load()
    if len(_cache) >= _CACHE_MAX_ENTRIES:
        # Requests for made-up slugs must not grow the cache without bound.
        _cache.clear()
    _cache[(kind, key)] = (now + ttl, value)
    return value


def petition_count_cache_clear() -> None:
    """Drops this process's cached counts and names (other processes refresh theirs within
    PETITIONS_COUNT_CACHE_SECONDS)."""
    _cache.clear()
    _count_cache.clear()


def petition_not_found() -> ApplicationError:
    return ApplicationError(_("No such petition."), code="petition_not_found", status_code=404)


def petition_public_get(*, slug: str) -> Petition:
    """A petition the public may see: drafts (and drafts' campaigns) are 404."""
    petition = (
        Petition.objects.select_related("campaign")
        .exclude(status=Petition.Status.DRAFT)
        .exclude(campaign__status=Campaign.Status.DRAFT)
        .filter(slug=slug)
        .first()
    )
    if petition is None:
        raise petition_not_found()
    return petition


def petition_for_signing_get(*, slug: str) -> Any:
    """The petition as the sign path needs it; 404 when unknown, 409 when not open."""

    def load() -> PetitionForSigning | None:
        petition = (
            Petition.objects.exclude(status=Petition.Status.DRAFT)
            .exclude(campaign__status=Campaign.Status.DRAFT)
            .filter(slug=slug)
            .first()
        )
        if petition is None:
            return None
        return PetitionForSigning(
            id=petition.pk,
            campaign_id=petition.campaign_id,
            slug=petition.slug,
            is_open=petition_is_open(petition),
            consent_version=petition.consent_version,
            consent_hash_de=consent_text_hash(petition.consent_text_de),
            consent_hash_en=consent_text_hash(petition.consent_text_en or petition.consent_text_de),
            altcha_enabled=petition.altcha_enabled,
            signing_paused=petition.signing_paused,
            paused_message_de=petition.signing_paused_message_de,
            paused_message_en=petition.signing_paused_message_en,
        )

    found = _cached("sign", slug, settings.PETITIONS_COUNT_CACHE_SECONDS, load)
    if found is None:
        raise petition_not_found()
    if not found.is_open:
        raise ApplicationError(
            _("This petition is not open for signing."), code="petition_closed", status_code=409
        )
    if found.signing_paused:
        english = (translation.get_language() or "de").lower().startswith("en")
        own = found.paused_message_en if english else found.paused_message_de
        raise ApplicationError(
            own or found.paused_message_de or switch_message("signing_paused"),
            code="signing_paused",
            status_code=409,
        )
    return found


def petitions_paused_slugs() -> list[str]:
    """For /readyz: the petitions whose signing an operator paused."""
    return list(Petition.objects.filter(signing_paused=True).order_by("slug").values_list("slug", flat=True))


def petition_goal_get(*, petition: Petition) -> int | None:
    """The next milestone above the current total, or the highest one once all are reached."""
    return _goal_for(petition, petition.total_count)


def _goal_for(petition: Petition, total: int) -> int | None:
    milestones = petition.milestones.all()
    targets = sorted(m.target for m in milestones)
    for target in targets:
        if target > total:
            return target
    return targets[-1] if targets else None


_clock = time.time  # the count periods' clock (tests move it on)


def count_now() -> float:
    return _clock()


def count_period_start(timestamp: float) -> float:
    """The start of the count cache period `timestamp` falls in. Periods are aligned to the
    clock, so every process on the machine agrees on them."""
    period = settings.PETITIONS_COUNT_CACHE_SECONDS
    return timestamp - timestamp % period if period > 0 else timestamp


def _count_payloads(petition: Petition) -> tuple[dict[str, Any], dict[str, Any]]:
    """The count payload before and after the petition's latest public count change."""
    payloads = []
    for online in (petition.public_count_before, petition.public_count):
        updated_at: datetime = petition.counts_updated_at or petition.updated_at
        total = online + petition.offline_count
        payload: dict[str, Any] = {
            "signature_count": total,
            "goal": _goal_for(petition, total),
            "updated_at": updated_at,
        }
        raw = f"{petition.pk}:{total}:{payload['goal']}:{updated_at.isoformat()}"
        payload["etag"] = '"' + hashlib.sha256(raw.encode()).hexdigest()[:32] + '"'
        payloads.append(payload)
    return payloads[0], payloads[1]


def _count_load(slug: str) -> tuple[dict[str, Any], dict[str, Any], float] | None:
    petition = (
        Petition.objects.exclude(status=Petition.Status.DRAFT)
        .exclude(campaign__status=Campaign.Status.DRAFT)
        .prefetch_related("milestones")
        .filter(slug=slug)
        .first()
    )
    if petition is None:
        return None
    before, after = _count_payloads(petition)
    changed_at = petition.public_count_changed_at
    return before, after, changed_at.timestamp() if changed_at else float("-inf")


# slug -> (the period it was loaded in, the load)
_count_cache: dict[str, tuple[float, Any]] = {}


def _count_cached(slug: str) -> dict[str, Any] | None:
    """Every process serves, during a period, the count as it stood when the period began:
    each reloads once per period (so it knows every change committed before the period
    began), and a change committed during the period shows from the next one on. No process
    can run ahead of another (the counter pass changes a public count at most once a period,
    see petitions.counting), and no request waits for anything but this dict."""
    start = count_period_start(count_now())
    hit = _count_cache.get(slug)
    if hit is None or hit[0] != start or settings.PETITIONS_COUNT_CACHE_SECONDS <= 0:
        if len(_count_cache) >= _CACHE_MAX_ENTRIES:
            _count_cache.clear()  # requests for made-up slugs must not grow the cache without bound
        hit = (start, _count_load(slug))
        _count_cache[slug] = hit
    loaded = hit[1]
    if loaded is None:
        return None
    before, after, changed_at = loaded
    return after if changed_at <= start else before


def petition_count_get(*, slug: str) -> dict[str, Any]:
    """`{signature_count, goal, updated_at, etag}` of a public petition (total incl. offline),
    from the process's cache of the current count period (PETITIONS_COUNT_CACHE_SECONDS)."""
    found = _count_cached(slug)
    if found is None:
        raise petition_not_found()
    return found


def petition_detail_get(*, slug: str) -> dict[str, Any]:
    petition = petition_public_get(slug=slug)
    return {
        "slug": petition.slug,
        "campaign": petition.campaign.slug,
        "title": {"de": petition.title_de, "en": petition.title_en or petition.title_de},
        "text": {"de": petition.text_de, "en": petition.text_en or petition.text_de},
        "status": petition.status,
        "is_open": petition_is_open(petition),
        "opens_at": petition.opens_at,
        "closes_at": petition.closes_at,
        "signature_count": petition.total_count,
        "goal": petition_goal_get(petition=petition),
        "milestones": [{"target": m.target, "reached_at": m.reached_at} for m in petition.milestones.all()],
        "consent_text": {
            "de": petition.consent_text_de,
            "en": petition.consent_text_en or petition.consent_text_de,
        },
        # The texts of the optional checkboxes (empty: the form uses its own wording).
        "updates_consent_text": {
            "de": petition.updates_consent_text_de,
            "en": petition.updates_consent_text_en or petition.updates_consent_text_de,
        },
        "newsletter_consent_text": {
            "de": petition.newsletter_consent_text_de,
            "en": petition.newsletter_consent_text_en or petition.newsletter_consent_text_de,
        },
        "consent_version": petition.consent_version,
        "altcha_enabled": petition.altcha_enabled,
        "counts_updated_at": petition.counts_updated_at,
    }


def petition_recent_signers_list(*, slug: str, limit: int | None = None) -> list[dict[str, Any]]:
    """Confirmed, unflagged signers who agreed to be shown: first name, last initial, city and
    time. Never e-mail or postcode."""
    limit = limit or settings.PETITIONS_RECENT_SIGNERS_LIMIT
    return _cached(
        "recent",
        f"{slug}:{limit}",
        settings.PETITIONS_COUNT_CACHE_SECONDS,
        lambda: _recent_signers(slug, limit),
    )


def _recent_signers(slug: str, limit: int) -> list[dict[str, Any]]:
    petition = petition_public_get(slug=slug)
    rows = (
        Signature.objects.filter(
            petition=petition,
            status=Signature.Status.CONFIRMED,
            is_flagged=False,
            show_name_publicly=True,
        )
        .order_by("-confirmed_at")
        .values("first_name", "last_name", "city", "confirmed_at")[:limit]
    )
    return [
        {
            "name": f"{row['first_name']} {row['last_name'][:1]}.".strip()
            if row["last_name"]
            else row["first_name"],
            "city": row["city"],
            "signed_at": row["confirmed_at"],
        }
        for row in rows
    ]


def campaign_petitions_list(*, campaign: Campaign) -> list[dict[str, Any]]:
    """The campaign's public petitions, in the shape of the campaign endpoint."""
    petitions = (
        Petition.objects.filter(campaign=campaign)
        .exclude(status=Petition.Status.DRAFT)
        .prefetch_related("milestones")
        .order_by("created_at")
    )
    return [
        {
            "slug": p.slug,
            "title": {"de": p.title_de, "en": p.title_en or p.title_de},
            "status": p.status,
            "is_open": petition_is_open(p),
            "signature_count": p.total_count,
            "goal": petition_goal_get(petition=p),
        }
        for p in petitions
    ]


@dataclass(frozen=True)
class SignaturePage:
    """What the page behind a mail link shows: the signer's language, the campaign's name and
    colour, and the signer's name and address so the donation offer does not ask for them
    again (the page is the signer's own, opened from their mail, and never cached)."""

    locale: str
    signature_id: int
    first_name: str
    last_name: str
    email: str
    petition_slug: str
    petition_title: str
    campaign_title: str
    accent_color: str
    campaign_id: int
    campaign_slug: str
    postcode: str = ""
    country: str = ""


def signature_page_get(*, token: str, purpose: str) -> SignaturePage | None:
    """The page context for a mail link's token, or None for an unknown one. Only reads."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    # The token by its unique hash, then the signature by id: a join ordered by the signatures'
    # created_at (.first()) lets a planner with stale statistics walk the signatures instead.
    signature_id = next(
        iter(
            SignatureToken.objects.filter(token_hash=token_hash(token), purpose=purpose).values_list(
                "signature_id", flat=True
            )[:1]
        ),
        None,
    )
    if signature_id is None:
        return None
    row = (
        Signature.objects.filter(pk=signature_id)
        .values(
            "id",
            "locale",
            "first_name",
            "last_name",
            "email",
            "postcode",
            "country",
            "petition__slug",
            "petition__title_de",
            "petition__title_en",
            "petition__campaign__title_de",
            "petition__campaign__title_en",
            "petition__campaign__accent_color",
            "petition__campaign_id",
            "petition__campaign__slug",
        )
        .first()
    )
    if row is None:
        return None
    locale = "en" if row["locale"] == "en" else "de"
    english = locale == "en"
    return SignaturePage(
        locale=locale,
        signature_id=row["id"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        email=row["email"],
        petition_slug=row["petition__slug"],
        petition_title=(english and row["petition__title_en"]) or row["petition__title_de"],
        campaign_title=(english and row["petition__campaign__title_en"])
        or row["petition__campaign__title_de"],
        accent_color=row["petition__campaign__accent_color"],
        campaign_id=row["petition__campaign_id"],
        campaign_slug=row["petition__campaign__slug"],
        postcode=row["postcode"] or "",
        country=row["country"] or "",
    )
