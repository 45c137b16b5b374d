"""Demo data of the petitions app."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from petitions.models import Milestone, Petition

DEMO_PETITION_SLUG = "stopstreamingexploitation-petition"


@transaction.atomic
def petitions_demo_load(*, campaign: Any) -> Petition:
    petition, _ = Petition.objects.update_or_create(
        slug=DEMO_PETITION_SLUG,
        defaults={
            "campaign": campaign,
            "title_de": "Livestream-Missbrauch von Kindern stoppen",
            "title_en": "Stop the livestreamed sexual exploitation of children",
            "text_de": (
                "Wir fordern Bundestag und Bundesregierung auf, Livestream-Missbrauch von Kindern "
                "wirksam zu verfolgen, Plattformen in die Pflicht zu nehmen und Betroffene zu unterstützen."
            ),
            "text_en": (
                "We call on the Bundestag and the federal government to prosecute the livestreamed "
                "abuse of children effectively, hold platforms to account and support survivors."
            ),
            "status": Petition.Status.OPEN,
            "consent_text_de": (
                "Ich stimme zu, dass meine Angaben zur Durchführung dieser Petition verarbeitet "
                "werden. Details in der Datenschutzerklärung."
            ),
            "consent_text_en": (
                "I agree that my details are processed to run this petition. Details in the privacy policy."
            ),
            "consent_version": "2026-01",
        },
    )
    for target in (1000, 10000, 50000, 100000):
        Milestone.objects.get_or_create(petition=petition, target=target)
    return petition
