"""Send-time builders of the donations mails: they add what must not rest in the outbox row."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from campaign.emails import PreparedEmail, register_email_builder


@register_email_builder("donation_thanks")
def _thanks_build(email: Any) -> PreparedEmail:
    """A monthly gift's thank-you carries a fresh cancel link; only its hash is stored."""
    from donations.mandates import mandate_cancel_token_mint

    mandate_id = email.context.get("mandate_id")
    if not mandate_id:
        return PreparedEmail()
    token = mandate_cancel_token_mint(mandate_id=int(mandate_id))
    return PreparedEmail(
        context={"cancel_url": f"{settings.PUBLIC_BASE_URL}/donations/cancel/?token={token}"}
    )
