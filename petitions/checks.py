"""System checks of the petitions settings (run by `manage.py check`, migrate and runserver)."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.core.checks import Error, register


@register()
def petitions_settings_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors = []
    for value in settings.PETITIONS_BLOCKED_IP_RANGES:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            errors.append(
                Error(
                    f"PETITIONS_BLOCKED_IP_RANGES: {value!r} is not an IP address or CIDR range.",
                    id="petitions.E001",
                )
            )
    for name in (
        "PETITIONS_CONFIRMATION_MAX_MAILS",
        "PETITIONS_CONFIRM_TOKEN_DAYS",
        "PETITIONS_COUNT_INTERVAL_SECONDS",
    ):
        if getattr(settings, name) < 1:
            errors.append(Error(f"{name} must be at least 1.", id="petitions.E002"))
    return errors
