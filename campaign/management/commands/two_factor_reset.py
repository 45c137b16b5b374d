"""Resets a staff member's second factor (a lost phone): removes the devices and revokes the
API tokens; the next login enrols again. Audited."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from campaign.two_factor import two_factor_reset


class Command(BaseCommand):
    help = "Remove a staff account's second factor (TOTP device, backup codes) and revoke its API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--by", default="", help="username of the administrator doing the reset (for the audit trail)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model().objects
        user = users.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No account {options['username']!r}.")
        actor = None
        if options["by"]:
            actor = users.filter(username=options["by"]).first()
            if actor is None:
                raise CommandError(f"No account {options['by']!r} (--by).")
        removed = two_factor_reset(user=user, actor=actor)
        self.stdout.write(
            f"{removed} device(s) removed; {user.get_username()} enrols again at the next login."
        )
