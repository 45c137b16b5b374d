"""Many people behind one address (a class, an office, a conference) sign without a 429 and
without a flag; a script signing from one address is throttled and flagged. Through the API on
PostgreSQL, with the real throttle on Redis and its default rates; the fraud check is the
worker's task body, called directly."""

from __future__ import annotations

import itertools
import random
import time

import pytest

from petitions.fraud import signature_fraud_check
from petitions.models import Signature
from petitions.throttles import SignRateThrottle, throttle_counts_clear
from tests.fixtures.petitions import sign_payload

pytestmark = pytest.mark.django_db

FIRST = ["Lena", "Jonas", "Mia", "Elias", "Emma", "Noah", "Hannah", "Paul", "Lea", "Ben", "Sofia", "Finn"]
LAST = ["Schmidt", "Yilmaz", "Müller", "Nowak", "Becker", "Hoffmann", "Weber", "Kaya", "Wagner", "Schulz"]
USER_AGENTS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile "
    "Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
    "Safari/537.36",
]
SCRIPT_UA = "python-requests/2.32.3"


@pytest.fixture
def address(monkeypatch: pytest.MonkeyPatch) -> str:
    from django.conf import settings

    from campaign.throttles import FailOpenScopedRateThrottle

    # The default rates (the petitions tests' isolation raises them).
    monkeypatch.setattr(
        FailOpenScopedRateThrottle, "THROTTLE_RATES", settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    )
    # One throttle window for the whole test: a minute boundary must not reset the count midway.
    frozen = time.time() // 60 * 60 + 1
    monkeypatch.setattr(SignRateThrottle, "timer", staticmethod(lambda: frozen))
    throttle_counts_clear()
    # An address of its own: the throttle's counters live in the shared Redis for the run.
    return f"198.18.{random.randrange(256)}.{random.randrange(1, 255)}"


def _realistic_signers(n: int) -> list[tuple[dict, str]]:
    """A school class and its teachers, or an office: different people, many mail domains
    (most at the big providers, the rest at the school's, a firm's and a university's), the
    browsers of the same few phone and desktop builds."""
    rng = random.Random(16)
    domains = [
        *["gmx.de", "web.de", "gmail.com", "t-online.de", "icloud.com", "outlook.com"] * 6,  # 36
        *["gymnasium-musterstadt.de"] * 12,
        *["example-gmbh.de"] * 7,
        *["uni-musterstadt.de"] * 5,
    ]
    people = list(itertools.product(FIRST, LAST))
    rng.shuffle(people)
    signers = []
    for i, ((first, last), domain) in enumerate(zip(people[:n], domains, strict=True)):
        local = rng.choice(
            [
                f"{first}.{last}",
                f"{first[0]}{last}{rng.randrange(1990, 2012)}",
                f"{first}{rng.randrange(1, 99)}",
                f"{last}.{first[0]}",
            ]
        ).lower()
        signers.append(
            (sign_payload(first_name=first, last_name=last, email=f"{local}@{domain}"), USER_AGENTS[i % 3])
        )
    return signers


def _sign(api_client, petition, payload: dict, address: str, user_agent: str) -> int:
    return api_client.post(
        f"/api/v1/petitions/{petition.slug}/signatures/",
        payload,
        format="json",
        REMOTE_ADDR=address,
        HTTP_USER_AGENT=user_agent,
    ).status_code


def _fraud_check_all(petition) -> dict[str, str]:
    for signature_id in (
        Signature.objects.filter(petition=petition).order_by("created_at", "id").values_list("id", flat=True)
    ):
        signature_fraud_check(signature_id=signature_id)
    return dict(Signature.objects.filter(petition=petition).values_list("email", "flag_reason"))


def test_sixty_people_behind_one_address_sign_without_a_429_and_without_a_flag(api_client, petition, address):
    signers = _realistic_signers(60)

    # All within seconds: harder for every window than the ten minutes a class takes.
    statuses = [_sign(api_client, petition, payload, address, ua) for payload, ua in signers]

    assert statuses == [202] * 60
    reasons = _fraud_check_all(petition)
    assert len(reasons) == 60
    assert {reason for reason in reasons.values()} == {""}


def test_a_scripted_flood_from_one_address_is_throttled_and_flagged(api_client, petition, address):
    names = list(itertools.product(FIRST, LAST))

    statuses = [
        _sign(
            api_client,
            petition,
            sign_payload(first_name=first, last_name=last, email=f"a{i}@flood.example"),
            address,
            SCRIPT_UA,
        )
        for i, (first, last) in enumerate(names[:40], start=1)
    ]

    # THROTTLE_SIGN_RATE (30/minute) for addresses outside the big providers.
    assert statuses == [202] * 30 + [429] * 10
    reasons = _fraud_check_all(petition)
    flagged = sorted((int(email[1:].split("@")[0]) for email, reason in reasons.items() if reason), key=int)
    # Up to PETITIONS_IP_BURST_LIMIT (10) pass; beyond it the numbered addresses from one user
    # agent give the script away (different names do not hide it).
    assert flagged == list(range(11, 31))
    assert {reasons[f"a{i}@flood.example"] for i in flagged} == {"ip_burst"}


def test_a_flood_with_provider_addresses_hits_the_ceiling_and_is_flagged(api_client, petition, address):
    statuses = [
        _sign(api_client, petition, sign_payload(email=f"bot.{i}@gmail.com"), address, SCRIPT_UA)
        for i in range(1, 131)
    ]

    # Provider addresses skip the 30/minute window, not THROTTLE_SIGN_MAX_RATE (120/minute).
    assert statuses == [202] * 120 + [429] * 10
    reasons = _fraud_check_all(petition)
    assert sum(1 for reason in reasons.values() if reason == "ip_burst") == 110


def test_one_name_with_many_addresses_is_flagged_whatever_the_browser(api_client, petition, address):
    rng = random.Random(7)
    statuses = [
        _sign(
            api_client,
            petition,
            sign_payload(email=f"{rng.getrandbits(40):x}@{domain}"),
            address,
            USER_AGENTS[i % 3],
        )
        for i, domain in enumerate(["gmx.de", "web.de", "firma.example"] * 5)
    ]

    assert statuses == [202] * 15
    reasons = list(
        Signature.objects.filter(petition=petition)
        .order_by("created_at", "id")
        .values_list("email", flat=True)
    )
    flags = _fraud_check_all(petition)
    assert [flags[email] for email in reasons] == [""] * 10 + ["ip_burst"] * 5


def test_an_allow_listed_network_skips_the_ip_windows(api_client, petition, address, settings):
    settings.PETITIONS_IP_ALLOWLIST = ["198.18.0.0/15"]

    statuses = [
        _sign(api_client, petition, sign_payload(email=f"a{i}@conference.example"), address, SCRIPT_UA)
        for i in range(1, 41)
    ]

    # No throttle window and no IP flag for the conference's network (the domain limit, 50 an
    # hour, still applies to its own domain).
    assert statuses == [202] * 40
    assert set(Signature.objects.filter(petition=petition).values_list("ip_allowlisted", flat=True)) == {True}
    assert set(_fraud_check_all(petition).values()) == {""}


def test_provider_signers_do_not_count_against_the_sustained_window(petition, settings):
    from datetime import timedelta

    from django.utils import timezone

    from petitions.hashing import ip_hash_compute
    from tests.fixtures.petitions import SignatureFactory

    settings.PETITIONS_IP_SUSTAINED_LIMIT = 3
    ip_hash = ip_hash_compute("198.19.0.1")
    made = []
    for i, domain in enumerate(["gmx.de", "web.de", "gmail.com", "gmx.de", "firma.example", "firma.example"]):
        signature = SignatureFactory(
            petition=petition,
            ip_hash=ip_hash,
            email=f"p{i}@{domain}",
            email_domain=domain,
            first_name=f"N{i}x",
        )
        Signature.objects.filter(pk=signature.pk).update(created_at=timezone.now() - timedelta(hours=6 - i))
        made.append(signature)

    for signature in made:
        signature_fraud_check(signature_id=signature.pk)

    # Six from the address in a day, but only two outside the big providers: under the limit.
    assert not Signature.objects.filter(petition=petition, is_flagged=True).exists()


@pytest.mark.parametrize(
    ("email", "pattern"),
    [
        ("a1@flood.example", "a#"),
        ("A17@other.example", "a#"),
        ("bot-01-x@x.example", "bot-#-x"),
        ("name+1@x.example", "name+#"),
        ("lena.schmidt@gmx.de", ""),  # not numbered: no pattern of its own
    ],
)
def test_numbered_addresses_share_a_pattern(email, pattern):
    from petitions.shared_networks import address_pattern

    assert address_pattern(email) == pattern


def test_the_user_agent_is_kept_only_as_a_hash_and_erased_by_a_withdrawal(api_client, petition, address):
    from petitions.models import SignatureToken
    from petitions.tokens import signature_token_mint

    _sign(api_client, petition, sign_payload(), address, USER_AGENTS[0])
    signature = Signature.objects.get(petition=petition)
    assert len(signature.user_agent_hash) == 64 and "Mozilla" not in signature.user_agent_hash
    token = signature_token_mint(signature_id=signature.pk, purpose=SignatureToken.Purpose.WITHDRAW)

    api_client.post("/api/v1/signatures/withdraw/", {"token": token}, format="json")

    signature.refresh_from_db()
    assert (signature.status, signature.user_agent_hash, signature.ip_hash) == ("withdrawn", "", "")
