"""Who a delivery plan reaches: its chosen officials and, when it names a parliament, its
active members: all of them, only the directly elected ones, and/or only those of one state. Only verified addresses receive mail; the others are counted so staff
see how many recipients still need their address verified."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from officials.models import DeliveryPlan, Official


def delivery_plan_candidates(*, plan: DeliveryPlan) -> QuerySet[Official]:
    """The plan's active officials, whatever the state of their address."""
    condition = Q(pk__in=plan.officials.values("pk"))
    if plan.parliament:
        members = Q(parliament=plan.parliament) | Q(constituency__parliament=plan.parliament)
        if plan.direct_only:
            members &= Q(mandate=Official.Mandate.DIRECT)
        if plan.state:
            members &= Q(state=plan.state)
        condition |= members
    return Official.objects.filter(condition, active=True).select_related("constituency").distinct()


def delivery_plan_recipients(*, plan: DeliveryPlan) -> QuerySet[Official]:
    """The officials a plan's mails go to: active, with a verified address."""
    return delivery_plan_candidates(plan=plan).filter(address_status=Official.AddressStatus.VERIFIED)


def delivery_plan_recipient_counts(*, plan: DeliveryPlan) -> dict[str, int]:
    """Active recipients of the plan by address status: `verified` get the mails, the
    `unverified` (including a verification mail still pending) do not until staff verify."""
    statuses = list(delivery_plan_candidates(plan=plan).values_list("address_status", flat=True))
    verified = sum(1 for status in statuses if status == Official.AddressStatus.VERIFIED)
    return {"verified": verified, "unverified": len(statuses) - verified}
