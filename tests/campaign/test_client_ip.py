"""The client address: X-Forwarded-For only behind trusted proxies, never the client's own
entries to the left of what the trusted proxies wrote."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from campaign.client_ip import request_client_ip
from petitions.hashing import ip_hash_compute
from petitions.models import Signature
from tests.fixtures.petitions import sign_payload

SPOOFED = "198.51.100.66"
CLIENT = "203.0.113.7"
PROXY = "10.0.0.5"


def _ip(remote: str, forwarded: str | None = None) -> str:
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return request_client_ip(RequestFactory().get("/", REMOTE_ADDR=remote, **extra))


def test_without_a_trusted_proxy_the_header_is_ignored(settings):
    settings.NUM_PROXIES, settings.TRUSTED_PROXY_RANGES = 0, []

    assert _ip(CLIENT, SPOOFED) == CLIENT


def test_with_one_proxy_the_entry_it_wrote_is_taken_and_a_spoofed_one_to_its_left_is_not(settings):
    settings.NUM_PROXIES, settings.TRUSTED_PROXY_RANGES = 1, []

    assert _ip(PROXY, f"{SPOOFED}, {CLIENT}") == CLIENT
    assert _ip(PROXY, CLIENT) == CLIENT
    assert _ip(PROXY) == PROXY  # a request straight to the service (a health check)


def test_trusted_ranges_skip_every_proxy_hop_and_stop_at_the_first_untrusted(settings):
    settings.NUM_PROXIES, settings.TRUSTED_PROXY_RANGES = 0, ["10.0.0.0/8", "2001:db8:ffff::/48"]

    assert _ip(PROXY, f"{SPOOFED}, {CLIENT}, 10.1.2.3") == CLIENT
    assert _ip("2001:db8:ffff::1", f"{SPOOFED}, {CLIENT}") == CLIENT
    # Not from a trusted proxy: the header means nothing.
    assert _ip(CLIENT, SPOOFED) == CLIENT


def test_hop_count_and_ranges_combine(settings):
    # A cloud load balancer (REMOTE_ADDR, in its range) that also appends its own address.
    settings.NUM_PROXIES, settings.TRUSTED_PROXY_RANGES = 1, ["35.191.0.0/16"]

    assert _ip("35.191.1.1", f"{SPOOFED}, {CLIENT}, 35.191.2.2") == CLIENT


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        (f"{CLIENT}:51234", CLIENT),  # a port, as some load balancers write it
        ("[2001:db8::7]:443", "2001:db8::7"),
        ("::ffff:203.0.113.7", CLIENT),  # IPv4-mapped: one client, one address
        ("unknown", PROXY),  # garbled: stop at the last good hop
        ("", PROXY),
    ],
)
def test_entries_are_normalised_and_garbage_is_not_taken(settings, forwarded, expected):
    settings.NUM_PROXIES, settings.TRUSTED_PROXY_RANGES = 1, []

    assert _ip(PROXY, forwarded) == expected


def test_a_bad_trusted_range_stops_the_service_from_starting(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from campaign.settings import env_list, ip_ranges_check

    monkeypatch.setenv("TRUSTED_PROXY_RANGES", "10.0.0.0/8,not-a-range")
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXY_RANGES"):
        ip_ranges_check("TRUSTED_PROXY_RANGES", env_list("TRUSTED_PROXY_RANGES"))


@pytest.mark.django_db
def test_signing_hashes_the_address_the_trusted_proxy_saw(
    api_client, petition, settings, petitions_isolation
):
    url = f"/api/v1/petitions/{petition.slug}/signatures/"
    settings.NUM_PROXIES, settings.TRUSTED_PROXY_RANGES = 0, []
    api_client.post(
        url,
        sign_payload(email="a@example.org"),
        format="json",
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=SPOOFED,
    )
    settings.TRUSTED_PROXY_RANGES = ["10.0.0.0/8"]
    api_client.post(
        url,
        sign_payload(email="b@example.org"),
        format="json",
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=f"{SPOOFED}, {CLIENT}",
    )

    hashes = dict(Signature.objects.values_list("email", "ip_hash"))
    assert hashes["a@example.org"] == ip_hash_compute(PROXY)  # no trusted proxy: the header is ignored
    assert hashes["b@example.org"] == ip_hash_compute(CLIENT)  # not the spoofed hop to its left


@pytest.mark.django_db
def test_the_throttle_counts_the_client_behind_the_proxy_not_the_spoofed_entry(
    api_client, petition, monkeypatch, settings
):
    from campaign.throttles import FailOpenScopedRateThrottle
    from petitions.throttles import throttle_counts_clear

    monkeypatch.setattr(FailOpenScopedRateThrottle, "THROTTLE_RATES", {"sign": "2/minute"})
    throttle_counts_clear()
    settings.NUM_PROXIES = 1
    client = f"192.0.2.{petition.pk % 250 + 1}"
    url = f"/api/v1/petitions/{petition.slug}/signatures/"

    # A new spoofed entry on every request does not make a new client.
    statuses = [
        api_client.post(
            url,
            sign_payload(email=f"x{i}@example.org"),
            format="json",
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=f"198.51.100.{i}, {client}",
        ).status_code
        for i in range(3)
    ]

    assert statuses == [202, 202, 429]
