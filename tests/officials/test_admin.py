from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from campaign.models import OutgoingEmail
from officials.models import Delivery, Official
from petitions.counting import petition_counts_update
from tests.conftest import staff_login


@pytest.fixture
def admin_browser(db, django_user_model) -> Client:
    user = django_user_model.objects.create_superuser(
        username="admin", email="admin@example.org", password="pw"
    )
    client = Client()
    staff_login(client, user)  # a session verified with the second factor
    return client


@pytest.fixture
def needs_review(regions, petition, sign, make_official, make_plan, make_milestone) -> Delivery:
    make_plan(petition, [make_official(constituency=regions[75])], milestones=[1])
    make_milestone(petition, 1)
    sign(petition)
    petition_counts_update()
    delivery = Delivery.objects.get()
    OutgoingEmail.objects.filter(pk=delivery.outgoing_email_id).update(
        status=OutgoingEmail.Status.NEEDS_REVIEW
    )
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.NEEDS_REVIEW)
    return delivery


def test_every_officials_admin_page_opens(admin_browser, needs_review):
    for name in ["constituency", "postcodearea", "official", "deliveryplan", "delivery", "regiontotal"]:
        assert admin_browser.get(f"/admin/officials/{name}/").status_code == 200, name
    page = admin_browser.get(f"/admin/officials/delivery/{needs_review.pk}/change/")
    assert page.status_code == 200
    assert "Berlin-Mitte" in page.content.decode()  # the totals as sent, constituency included
    assert admin_browser.get("/admin/officials/deliveryplan/add/").status_code == 200
    plan_page = admin_browser.get(f"/admin/officials/deliveryplan/{needs_review.plan_id}/change/")
    assert plan_page.status_code == 200
    assert "recipients (active)" in plan_page.content.decode().lower()


def test_staff_import_officials_from_csv_in_the_admin(admin_browser, regions):
    upload = SimpleUploadedFile(
        "officials.csv",
        b"name,email,parliament,constituency_number,language\nFrau Elbe,elbe@example.org,bundestag,18,de\n",
    )

    response = admin_browser.post("/admin/officials/official/import-csv/", {"file": upload})

    assert response.status_code == 302
    assert Official.objects.get(email="elbe@example.org").constituency == regions[18]


def test_a_bad_csv_in_the_admin_imports_nothing_and_names_the_line(admin_browser, regions):
    upload = SimpleUploadedFile("officials.csv", b"name,email\nFrau Elbe,kaputt\n")

    response = admin_browser.post("/admin/officials/official/import-csv/", {"file": upload}, follow=True)

    assert "line 2: email is not a valid address" in response.content.decode()
    assert Official.objects.count() == 0


def test_resending_from_the_admin_takes_an_explicit_confirmation(admin_browser, needs_review):
    form = {"action": "resend_deliveries", "_selected_action": [needs_review.pk]}

    first = admin_browser.post("/admin/officials/delivery/", form)

    assert first.status_code == 200
    assert "may have reached the official already" in first.content.decode()
    assert Delivery.objects.get(pk=needs_review.pk).status == Delivery.Status.NEEDS_REVIEW

    admin_browser.post("/admin/officials/delivery/", {**form, "confirm": "yes"})

    delivery = Delivery.objects.get(pk=needs_review.pk)
    assert (delivery.status, delivery.resend_count) == (Delivery.Status.QUEUED, 1)
    assert OutgoingEmail.objects.filter(subject_id=delivery.pk, kind="officials_delivery").count() == 2


def test_a_plan_with_bad_milestones_or_time_zone_is_refused_in_the_admin(admin_browser, petition):
    response = admin_browser.post(
        "/admin/officials/deliveryplan/add/",
        {
            "petition": petition.pk,
            "name": "Plan",
            "active": "on",
            "milestones": '[10000, "viel"]',
            "schedule_weekday": "0",
            "schedule_time": "09:00",
            "schedule_timezone": "Europe/Nirgendwo",
            "hourly_cap": "60",
        },
    )

    assert response.status_code == 200  # the form again, with errors
    page = response.content.decode()
    assert "A list of positive whole numbers" in page
    assert "An IANA time zone name" in page
