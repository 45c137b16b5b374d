from __future__ import annotations

import hashlib
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from officials.reports import signature_list_lines


class Command(BaseCommand):
    help = (
        "Prints the SHA-256 digest of a petition's canonical signature list (as in the handover "
        "report) and, with --write, writes the list itself to a file (it holds e-mail addresses: "
        "keep it as safe as the database), so that `sha256sum FILE` can be compared with a report."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("petition", help="the petition's slug")
        parser.add_argument("--write", metavar="FILE", help="also write the canonical list to FILE")

    def handle(self, *args: Any, **options: Any) -> None:
        from petitions.models import Petition

        petition = Petition.objects.filter(slug=options["petition"]).first()
        if petition is None:
            raise CommandError(f"No petition with the slug {options['petition']!r}.")
        digest = hashlib.sha256()
        count = 0
        out = open(options["write"], "wb") if options["write"] else None  # noqa: SIM115
        try:
            for line in signature_list_lines(petition_id=petition.pk):
                digest.update(line)
                count += 1
                if out is not None:
                    out.write(line)
        finally:
            if out is not None:
                out.close()
        self.stdout.write(f"{digest.hexdigest()}  ({count} signatures)")
