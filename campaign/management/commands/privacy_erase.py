"""`manage.py privacy_erase EMAIL`: erases a person by e-mail address across every app and
prints the receipt (which holds no address)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from campaign.models import ErasureReceipt
from campaign.privacy.erasure import person_erase
from campaign.privacy.serializers import ErasureReceiptOutputSerializer, email_checked


class Command(BaseCommand):
    help = "Erase everything held about an e-mail address (GDPR Art. 17) and print the receipt."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            email = email_checked(options["email"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        receipt = person_erase(email=email, origin=ErasureReceipt.Origin.COMMAND, requested_by="manage.py")
        self.stdout.write(
            json.dumps(ErasureReceiptOutputSerializer(receipt).data, indent=2, ensure_ascii=False)
        )
