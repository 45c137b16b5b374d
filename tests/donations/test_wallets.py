"""Wallets, server side: every domain that shows the wallet button is registered and validated
with Stripe (idempotent; against localstripe with its payment method domains added by the
launcher), and the Apple Pay domain association file is served from configuration."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from donations.wallets import wallet_domains

pytestmark = pytest.mark.django_db


@pytest.fixture
def wallet_sites(settings):
    settings.PUBLIC_BASE_URL = "https://spenden.example.org"
    settings.CORS_ALLOWED_ORIGINS = [
        "https://www.example.org",
        "https://blog.partner.example",
        "http://127.0.0.1:8000",
        "https://www.example.org",
    ]
    settings.WALLET_EXTRA_DOMAINS = ["kampagne.example.net"]


def test_the_domains_are_the_service_and_every_embedding_site(wallet_sites):
    assert wallet_domains() == [
        "spenden.example.org",
        "www.example.org",
        "blog.partner.example",
        "kampagne.example.net",
    ]


def test_the_command_registers_each_domain_once_and_validates_every_run(wallet_sites, localstripe):
    first, second = StringIO(), StringIO()

    call_command("donations_wallet_domains", stdout=first)
    call_command("donations_wallet_domains", stdout=second)

    registered = localstripe.request("GET", "/v1/payment_method_domains")["data"]
    assert sorted(row["domain_name"] for row in registered) == sorted(wallet_domains())
    assert all(row["validations"] == 2 for row in registered)
    assert "spenden.example.org: registered; apple_pay active, google_pay active" in first.getvalue()
    assert "spenden.example.org: already registered" in second.getvalue()
    assert second.getvalue().count("already registered") == 4


def test_the_command_takes_single_domains(wallet_sites, localstripe):
    out = StringIO()
    call_command("donations_wallet_domains", "neu.example.org", stdout=out)
    registered = localstripe.request("GET", "/v1/payment_method_domains")["data"]
    assert [row["domain_name"] for row in registered] == ["neu.example.org"]


def test_the_apple_pay_association_file_is_served_from_configuration(client, settings, tmp_path):
    url = "/.well-known/apple-developer-merchantid-domain-association"
    settings.APPLE_PAY_DOMAIN_ASSOCIATION_FILE = ""
    assert client.get(url).status_code == 404
    settings.APPLE_PAY_DOMAIN_ASSOCIATION_FILE = str(tmp_path / "missing")
    assert client.get(url).status_code == 404

    association = tmp_path / "apple-developer-merchantid-domain-association"
    association.write_text("7B2270737049...7D")
    settings.APPLE_PAY_DOMAIN_ASSOCIATION_FILE = str(association)
    response = client.get(url)

    assert response.status_code == 200
    assert response.content == b"7B2270737049...7D"
    assert response["Content-Type"].startswith("text/plain")
