"""Fixtures of the officials tests: the sample regions, petitions, signatures, officials and
delivery plans."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import time
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from campaign.officials.models import Constituency, DeliveryPlan, Official
from petitions.models import Milestone, Petition, Signature

_seq = itertools.count(1)


@pytest.fixture
def regions(db: Any) -> dict[int, Constituency]:
    """The sample constituencies and postcode mapping, imported through the commands;
    Bundestag constituencies by number."""
    call_command("import_constituencies", "--sample", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("import_postcodes", "--sample", stdout=open("/dev/null", "w"))  # noqa: SIM115
    return {c.number: c for c in Constituency.objects.filter(parliament="bundestag")}


@pytest.fixture
def make_petition(campaign: Any) -> Callable[..., Petition]:
    def make(**fields: Any) -> Petition:
        n = next(_seq)
        values = {
            "campaign": campaign,
            "slug": f"petition-{n}",
            "title_de": f"Livestream-Missbrauch stoppen {n}",
            "title_en": f"Stop livestreamed abuse {n}",
            "text_de": "Wir fordern wirksame Gesetze gegen Livestream-Missbrauch.",
            "text_en": "We call for effective laws against livestreamed abuse.",
            "status": Petition.Status.OPEN,
            "consent_version": "v1",
            **fields,
        }
        return Petition.objects.create(**values)

    return make


@pytest.fixture
def petition(make_petition: Callable[..., Petition]) -> Petition:
    return make_petition()


@pytest.fixture
def sign() -> Callable[..., Signature]:
    """A signature as the sign flow leaves it; confirmed unless told otherwise."""

    def make(petition: Petition, *, postcode: str = "10115", country: str = "DE", **fields: Any) -> Signature:
        n = next(_seq)
        confirmed = fields.pop("confirmed", True)
        values = {
            "petition": petition,
            "first_name": f"Vorname{n}",
            "last_name": f"Nachname{n}",
            "email": f"Signer{n}@Example.org",
            "email_normalized": f"signer{n}@example.org",
            "email_domain": "example.org",
            "postcode": postcode,
            "country": country,
            "consent_version": "v1",
            "status": Signature.Status.CONFIRMED if confirmed else Signature.Status.PENDING,
            "confirmed_at": timezone.now() if confirmed else None,
            **fields,
        }
        return Signature.objects.create(**values)

    return make


@pytest.fixture
def make_official(db: Any) -> Callable[..., Official]:
    def make(**fields: Any) -> Official:
        n = next(_seq)
        values = {
            "name": f"Abgeordnete {n}",
            "salutation": f"Sehr geehrte Frau Abgeordnete {n}",
            "email": f"official{n}@bundestag.example.org",
            "role": "Mitglied des Bundestages",
            **fields,
        }
        return Official.objects.create(**values)

    return make


@pytest.fixture
def make_plan() -> Callable[..., DeliveryPlan]:
    def make(petition: Petition, officials: list[Official] = (), **fields: Any) -> DeliveryPlan:  # type: ignore[assignment]
        values = {"name": "Bundestag", "milestones": [], **fields}
        plan = DeliveryPlan.objects.create(petition=petition, **values)
        plan.officials.add(*officials)
        return plan

    return make


@pytest.fixture
def make_milestone() -> Callable[..., Milestone]:
    def make(petition: Petition, target: int) -> Milestone:
        return Milestone.objects.create(petition=petition, target=target)

    return make


WEEKLY_MONDAY_9 = {"schedule_weekday": DeliveryPlan.Weekday.MONDAY, "schedule_time": time(9, 0)}
