"""The campaign report page in Chromium against the live server, for a viewer logged in with
a verified session: a real-looking data set (tens of thousands of signatures over six weeks,
inserted in SQL, the shipped German Wahlkreise) renders with its SVG charts and the map of the
Länder, without JavaScript. Writes docs' screenshot staff-report.png to test-output/."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client

from tests.conftest import staff_login, staff_user_create

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("petitions_isolation")]

ROWS = 36_000

# Each special column's SQL over i (the series) and r (a random number per row, seeded).
SPECIAL = {
    "petition": "%(petition_id)s",
    "first_name": "'Vorname' || (i %% 997)",
    "last_name": "'Nachname-' || i",
    "email": "'report' || i || '@example.org'",
    "email_normalized": "'report' || i || '@example.org'",
    "email_domain": "'example.org'",
    "postcode": "codes[1 + (i * 7919) %% array_length(codes, 1)]",
    "country": "CASE WHEN i %% 60 = 0 THEN 'AT' ELSE 'DE' END",
    # About one in six never confirms.
    "status": "CASE WHEN (i * 37) %% 100 < 17 THEN 'pending' ELSE 'confirmed' END",
    "counted": "((i * 37) %% 100 >= 17)",
    "utm_source": (
        "CASE WHEN i %% 6 = 0 THEN 'newsletter' WHEN i %% 6 = 1 THEN 'instagram' "
        "WHEN i %% 6 = 2 THEN 'mastodon' WHEN i %% 11 = 3 THEN 'partner' ELSE '' END"
    ),
    "utm_medium": (
        "CASE WHEN i %% 6 = 0 THEN 'email' WHEN i %% 6 IN (1, 2) THEN 'social' "
        "WHEN i %% 11 = 3 THEN 'referral' ELSE '' END"
    ),
    "utm_campaign": "CASE WHEN i %% 6 = 0 THEN 'launch' WHEN i %% 6 = 1 THEN 'reel-' || ((i / 6) %% 3) ELSE '' END",
    "referrer": (
        "CASE WHEN i %% 6 = 2 THEN 'https://social.example/@ngo/1' WHEN i %% 11 = 3 "
        "THEN 'https://www.partner-verband.example/aktion' WHEN i %% 5 = 4 THEN 'https://www.google.com/' ELSE '' END"
    ),
    "consent_version": "'v1'",
    # Launch on day 0, a slow decline, the newsletter on day 21 (every 6th signer).
    "created_at": (
        "CASE WHEN i %% 6 = 0 THEN start + interval '21 days' + r * interval '2 days' "
        "ELSE start + power(r, 1.7) * interval '42 days' END"
    ),
    "updated_at": "start",
    "consent_at": "start",
    "confirmed_at": "CASE WHEN (i * 37) %% 100 < 17 THEN NULL ELSE start + interval '43 days' END",
}


def signatures_insert_sql() -> str:
    from petitions.models import Signature

    columns, values = [], []
    for model_field in Signature._meta.concrete_fields:
        if model_field.primary_key:
            continue
        columns.append(f'"{model_field.column}"')
        kind = model_field.get_internal_type()
        if model_field.name in SPECIAL:
            values.append(SPECIAL[model_field.name])
        elif model_field.null:
            values.append("NULL")
        elif kind == "BooleanField":
            values.append("false")
        elif kind in {"CharField", "TextField", "SlugField"}:
            values.append(f"'{model_field.default}'" if isinstance(model_field.default, str) else "''")
        elif "Integer" in kind:
            values.append("0")
        else:
            raise AssertionError(f"no value for {model_field.column}")
    return (
        f'INSERT INTO "{Signature._meta.db_table}" ({", ".join(columns)}) '  # noqa: S608 - fixed test SQL
        f"SELECT {', '.join(values)} FROM (SELECT i, random() AS r FROM generate_series(1, {ROWS}) AS i) AS s, "
        "(SELECT %(codes)s::text[] AS codes, now() - interval '43 days' AS start) AS c"
    )


@pytest.fixture
def report_petition(transactional_db: Any, campaign: Any) -> Any:
    """A petition with ROWS signatures over six weeks, its region totals recounted, and a few
    hundred gifts (some after signing, some monthly), all committed for the live server."""
    import datetime as dt

    from django.utils import timezone

    from donations.models import Donation, Donor, Mandate
    from officials.models import PostcodeArea
    from officials.political_data_loading import political_data_load
    from petitions.counting import petition_counts_recount
    from petitions.models import Petition

    political_data_load(country="de")
    petition = Petition.objects.create(
        campaign=campaign,
        slug="report-petition",
        title_de="Livestream-Missbrauch stoppen",
        status=Petition.Status.OPEN,
        consent_version="v1",
    )
    codes = list(
        PostcodeArea.objects.filter(country="DE", constituency__term="2025")
        .values_list("postcode", flat=True)
        .distinct()
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute(signatures_insert_sql(), {"petition_id": petition.pk, "codes": codes})
    petition_counts_recount()
    start = timezone.now() - dt.timedelta(days=43)
    for n in range(420):
        donor = Donor.objects.create(email=f"g{n}@example.org", email_normalized=f"g{n}@example.org")
        mandate = None
        if n % 9 == 0:
            mandate = Mandate.objects.create(
                campaign=campaign,
                donor=donor,
                amount=1000 + 500 * (n % 4),
                method="sepa_debit",
                status=Mandate.Status.ACTIVE,
                reference=f"R{n}",
                stripe_customer_id="c",
                stripe_payment_method_id="p",
            )
        Donation.objects.create(
            campaign=campaign,
            donor=donor,
            mandate=mandate,
            period="2026-11" if mandate else "",
            interval=Donation.Interval.MONTH if mandate else Donation.Interval.ONCE,
            amount=[1000, 2500, 5000, 1500, 10000][n % 5],
            method=Donation.Method.CARD,
            status=Donation.Status.SUCCEEDED,
            succeeded_at=start + dt.timedelta(hours=(n * 97) % (42 * 24)),
            petition_slug=petition.slug,
            utm_source=["newsletter", "instagram", "", "mastodon", "newsletter"][n % 5],
            signature_ref=str(n) if n % 3 else "",
        )
    return petition


def test_a_viewer_reads_the_report_with_its_charts(
    live_server: Any, page: Any, report_petition: Any, django_user_model: Any, screenshot_dir: Any
):
    viewer = staff_user_create(django_user_model, "report-viewer", "viewer")
    client = staff_login(Client(), viewer)
    page.context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )

    page.goto(f"{live_server.url}/staff/reports/{report_petition.slug}/")

    assert page.locator("h1").inner_text() == "Livestream-Missbrauch stoppen"
    bars = page.locator("#signatures-per-day svg g[data-day]")
    assert bars.count() >= 42
    assert page.locator("#signatures-per-day svg").bounding_box()["width"] > 600
    states = page.locator("#regions svg g[data-region]")
    assert states.count() == 16
    shaded = [states.nth(i).get_attribute("fill") for i in range(16)]
    assert "#ececec" not in shaded  # every Land has signatures
    assert page.locator("#regions tbody tr").count() >= 16
    assert page.locator("#constituencies tbody tr").count() == 15
    assert "newsletter" in page.locator("#funnel").inner_text()
    assert page.locator("#donations-per-day svg rect").count() > 20
    assert page.evaluate("document.scripts.length") == 0
    confirmed = int(page.locator("#confirmed-total").inner_text())
    assert 0.75 * 36_000 < confirmed < 0.9 * 36_000
    page.screenshot(path=str(screenshot_dir / "staff-report.png"), full_page=True)

    page.context.clear_cookies()
    page.goto(f"{live_server.url}/staff/reports/{report_petition.slug}/")
    assert "/staff/login/" in page.url
