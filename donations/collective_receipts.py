"""Which gifts get a receipt when: the collective receipt (Sammelbestätigung) of a donor's
year, a receipt asked for after the fact, and the corrected receipt after a partial refund.

A donor gives each gift under its own `Donor` row; the gifts of one person are those with the
same e-mail address, name, street and postcode (a receipt states one name and one address).
Gifts that count are settled (`succeeded`, or `partially_refunded` with the rest), over the
amount kept (`total - refunded`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from donations.models import Donation, Donor, Receipt
from donations.receipts import _issuer_key, _receipt_create, _receipt_mail, receipt_issue_for_donation

logger = logging.getLogger(__name__)

RECEIPTABLE = (Donation.Status.SUCCEEDED, Donation.Status.PARTIALLY_REFUNDED)

DonorKey = tuple[str, str, str, str, str]


def gift_amount_kept(donation: Donation) -> int:
    return max(donation.total_amount - donation.amount_refunded, 0)


def donor_key(donor: Donor) -> DonorKey:
    def norm(value: str) -> str:
        return " ".join(value.lower().split())

    return (
        donor.email_normalized or norm(donor.email),
        norm(donor.first_name),
        norm(donor.last_name),
        norm(donor.street),
        donor.postcode.replace(" ", "").upper(),
    )


def _open_gifts(year: int) -> QuerySet[Donation]:
    """Settled gifts of `year` without a valid receipt, of donors not anonymised."""
    return Donation.objects.filter(
        status__in=RECEIPTABLE, succeeded_at__year=year, donor__anonymised_at__isnull=True
    ).filter(Q(receipt__isnull=True) | Q(receipt__status=Receipt.Status.VOID))


def _asked(donation: Donation) -> bool:
    return donation.wants_receipt or bool(donation.mandate and donation.mandate.wants_receipt)


def annual_receipts_issue(*, year: int, donor_id: int | None = None) -> int:
    """One collective receipt per donor over all settled gifts of `year` (one-off and monthly)
    not yet receipted, when the donor asked for a receipt for any of them or, with
    RECEIPT_ANNUAL_OVER_LIMIT, when their sum exceeds the simplified-proof limit. Refunded or
    lost gifts are left out. Safe to run again: receipted gifts are skipped. `donor_id` limits
    the run to that donor's person."""
    gifts = (
        _open_gifts(year)
        .select_related("donor", "mandate", "campaign__organisation")
        .order_by("succeeded_at", "pk")
    )
    only = donor_key(Donor.objects.get(pk=donor_id)) if donor_id is not None else None
    # One receipt per person and issuing organisation (the campaign's, or the service-wide one).
    groups: dict[tuple[DonorKey, int | None], list[Donation]] = defaultdict(list)
    for donation in gifts:
        key = donor_key(donation.donor)
        if only is None or key == only:
            groups[(key, _issuer_key(donation))].append(donation)
    issued = 0
    for donations in groups.values():
        total = sum(gift_amount_kept(d) for d in donations)
        over_limit = settings.RECEIPT_ANNUAL_OVER_LIMIT and total > settings.RECEIPT_SIMPLIFIED_MAX_AMOUNT
        if not (over_limit or any(_asked(d) for d in donations)):
            continue
        if _collective_issue(year=year, donation_ids=[d.pk for d in donations]) is not None:
            issued += 1
    logger.info("annual receipts %s: %d issued", year, issued)
    return issued


def _collective_issue(
    *, year: int, donation_ids: list[int], replaces: Receipt | None = None
) -> Receipt | None:
    with transaction.atomic():
        donations = list(
            _open_gifts(year)
            .select_for_update(of=("self",))
            .filter(pk__in=donation_ids)
            .select_related("donor")
            .order_by("succeeded_at", "pk")
        )
        if not donations:
            return None
        donor = donations[-1].donor  # the latest gift's name and address
        if not (donor.full_name and donor.street and donor.city):
            logger.info("donor %s: no collective receipt for %s, address incomplete", donor.pk, year)
            return None
        receipt = _receipt_create(
            donor=donor,
            kind=Receipt.Kind.ANNUAL,
            amount=sum(gift_amount_kept(d) for d in donations),
            donated_on=max(timezone.localdate(d.succeeded_at) for d in donations if d.succeeded_at),
            period=(date(year, 1, 1), date(year, 12, 31)),
            replaces=replaces,
        )
        Donation.objects.filter(pk__in=[d.pk for d in donations]).update(receipt=receipt)
        _receipt_mail(receipt)
    return receipt


def receipt_correct(*, voided: Receipt) -> Receipt | None:
    """Right after `voided` was withdrawn (a refund): a corrected receipt over what the donor
    kept of the same gifts, with the next number and a reference to the voided one. Nothing
    when nothing is left (a full refund, a lost dispute)."""
    if voided.kind == Receipt.Kind.ANNUAL and voided.period_start:
        ids = list(voided.donations.filter(status__in=RECEIPTABLE).values_list("pk", flat=True))
        return (
            _collective_issue(year=voided.period_start.year, donation_ids=ids, replaces=voided)
            if ids
            else None
        )
    donation = voided.donations.select_related("donor").filter(status__in=RECEIPTABLE).first()
    if donation is None or gift_amount_kept(donation) == 0:
        return None
    amount = gift_amount_kept(donation)
    simplified = amount <= settings.RECEIPT_SIMPLIFIED_MAX_AMOUNT
    receipt = _receipt_create(
        donor=voided.donor,
        kind=Receipt.Kind.SIMPLIFIED if simplified else Receipt.Kind.SINGLE,
        amount=amount,
        donated_on=voided.donated_on,
        replaces=voided,
    )
    donation.receipt = receipt
    donation.save(update_fields=["receipt", "updated_at"])
    _receipt_mail(receipt)
    logger.info("receipt %s corrected by %s", voided.pk, receipt.pk)
    return receipt


def receipt_request(*, donation_id: int) -> Receipt | None:
    """A donor who did not tick `wants_receipt` asks later: the gift (and its monthly gift)
    now wants a receipt. A one-off gift of this year gets its receipt at once, a gift of an
    earlier year the collective receipt of that year at once; monthly gifts of this year get
    theirs with the collective receipt in January. Returns the receipt issued, if any."""
    with transaction.atomic():
        donation = (
            Donation.objects.select_for_update(of=("self",))
            .select_related("donor", "mandate")
            .filter(pk=donation_id)
            .first()
        )
        if donation is None or donation.status not in RECEIPTABLE or donation.succeeded_at is None:
            return None
        if not donation.wants_receipt:
            donation.wants_receipt = True
            donation.save(update_fields=["wants_receipt", "updated_at"])
        if donation.mandate and not donation.mandate.wants_receipt:
            donation.mandate.wants_receipt = True
            donation.mandate.save(update_fields=["wants_receipt", "updated_at"])
        if donation.receipt is not None and donation.receipt.status == Receipt.Status.ISSUED:
            return donation.receipt
        year = timezone.localdate(donation.succeeded_at).year
        this_year = year == timezone.localdate().year
        if this_year and donation.interval == Donation.Interval.ONCE and donation.amount_refunded == 0:
            return receipt_issue_for_donation(donation)
    if this_year:
        return None
    annual_receipts_issue(year=year, donor_id=donation.donor_id)
    donation.refresh_from_db(fields=["receipt"])
    return donation.receipt
