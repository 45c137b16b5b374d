"""Donations: donors, gifts, monthly mandates, Stripe events and German donation receipts.

Money is in cents (integers) everywhere. A donation's status only moves along
`Donation.ALLOWED_TRANSITIONS`; services change it under `select_for_update`.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from campaign.models import Campaign, TimeStampedModel


class Donor(TimeStampedModel):
    """The person behind a gift, as they entered it for that gift (a monthly gift's charges
    share it). Nobody can change another gift's donor data by giving with the same e-mail
    address: each new gift gets its own row. Anonymising blanks every personal field and keeps
    the row, so totals and receipts' numbering stay intact."""

    email = models.CharField(max_length=254, blank=True)
    email_normalized = models.CharField(max_length=254, blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    street = models.CharField(max_length=200, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True)
    locale = models.CharField(max_length=5, default="de")
    newsletter_consent = models.BooleanField(default=False)
    anonymised_at = models.DateTimeField(null=True, blank=True)
    # Set by an erasure that had to keep records (receipts, bookings) for the tax law: they may
    # be used for that duty only (GDPR Art. 18); see donations.privacy.
    processing_restricted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["email_normalized"], name="donor_email_normalized_idx")]

    def __str__(self) -> str:
        return f"Donor #{self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Mandate(TimeStampedModel):
    """A monthly gift: the saved card or SEPA mandate stays on the Stripe customer and a beat
    task charges it off-session once a month (no Stripe Billing)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending (first charge not done)"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused (charges failed)"
        CANCELED = "canceled", "Canceled"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="mandates")
    donor = models.ForeignKey(Donor, on_delete=models.PROTECT, related_name="mandates")
    amount = models.PositiveIntegerField(help_text="Monthly gift in cents, without fees.")
    fee_amount = models.PositiveIntegerField(default=0)
    currency = models.CharField(max_length=3, default="eur")
    method = models.CharField(max_length=20)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    # Our own reference, quoted in the SEPA pre-notification (max 35 characters by the rulebook).
    reference = models.CharField(max_length=35, db_index=True)
    stripe_customer_id = models.CharField(max_length=255)
    stripe_payment_method_id = models.CharField(max_length=255)
    stripe_mandate_id = models.CharField(max_length=255, blank=True)
    wants_receipt = models.BooleanField(default=False)
    day_of_month = models.PositiveSmallIntegerField(default=1)
    # The month the next charge is for ("YYYY-MM") and the day it is due (later after a failure).
    next_period = models.CharField(max_length=7, blank=True)
    next_charge_on = models.DateField(null=True, blank=True, db_index=True)
    failure_count = models.PositiveSmallIntegerField(default=0)
    paused_at = models.DateTimeField(null=True, blank=True)
    # Set when the donor paused (at most six months): the schedule resumes on this day. A
    # pause after failed charges has none and waits for a new payment method.
    paused_until = models.DateField(null=True, blank=True, db_index=True)
    canceled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Mandate {self.reference} ({self.status})"

    @property
    def total_amount(self) -> int:
        return self.amount + self.fee_amount


class MandateCancelToken(models.Model):
    """A link token to cancel a monthly gift. Minted when a mail is sent (never stored in the
    outbox), stored only as a hash, valid until used."""

    mandate = models.ForeignKey(Mandate, on_delete=models.CASCADE, related_name="cancel_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Cancel token #{self.pk} of mandate {self.mandate_id}"


class DonorAccessToken(models.Model):
    """The link to a donor's own page, asked for by e-mail address. Minted when the mail is
    sent (never stored in the outbox), stored only as a hash, used once, expires."""

    email_normalized = models.CharField(max_length=254)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Donor access token #{self.pk}"


class Donation(TimeStampedModel):
    class Status(models.TextChoices):
        CREATED = "created", "Created"
        REQUIRES_ACTION = "requires_action", "Requires authentication"
        PROCESSING = "processing", "Processing"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
        REFUNDED = "refunded", "Refunded"
        DISPUTED = "disputed", "Disputed"
        DISPUTE_LOST = "dispute_lost", "Dispute lost"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Canceled"

    class Method(models.TextChoices):
        CARD = "card", "Card"
        SEPA_DEBIT = "sepa_debit", "SEPA Direct Debit"

    class Interval(models.TextChoices):
        ONCE = "once", "One-off"
        MONTH = "month", "Monthly"

    S = Status
    # Where each status may go. Stripe is the source of truth, so a charge reported as
    # succeeded after a failure (a retried authentication) is accepted; money states never go
    # back to "processing".
    ALLOWED_TRANSITIONS: dict[str, set[str]] = {
        S.CREATED: {S.REQUIRES_ACTION, S.PROCESSING, S.SUCCEEDED, S.FAILED, S.CANCELED},
        S.REQUIRES_ACTION: {S.PROCESSING, S.SUCCEEDED, S.FAILED, S.CANCELED},
        S.PROCESSING: {S.SUCCEEDED, S.FAILED, S.CANCELED},
        S.FAILED: {S.REQUIRES_ACTION, S.PROCESSING, S.SUCCEEDED},
        S.SUCCEEDED: {S.PARTIALLY_REFUNDED, S.REFUNDED, S.DISPUTED, S.DISPUTE_LOST},
        S.PARTIALLY_REFUNDED: {S.REFUNDED, S.DISPUTED, S.DISPUTE_LOST},
        S.DISPUTED: {S.SUCCEEDED, S.PARTIALLY_REFUNDED, S.DISPUTE_LOST, S.REFUNDED},
        S.REFUNDED: set(),
        S.DISPUTE_LOST: set(),
        S.CANCELED: set(),
    }
    # Gifts that count towards the campaign totals (net of refunds).
    COUNTED_STATUSES = (S.SUCCEEDED, S.PARTIALLY_REFUNDED, S.DISPUTED)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="donations")
    donor = models.ForeignKey(Donor, on_delete=models.PROTECT, related_name="donations")
    mandate = models.ForeignKey(
        Mandate, on_delete=models.PROTECT, related_name="donations", null=True, blank=True
    )
    # For a mandate's monthly charges: the month charged, "YYYY-MM" (one donation per month).
    period = models.CharField(max_length=7, blank=True)
    amount = models.PositiveIntegerField(help_text="The gift in cents, without fees.")
    fee_amount = models.PositiveIntegerField(default=0, help_text="Added by the donor (cover fees).")
    currency = models.CharField(max_length=3, default="eur")
    method = models.CharField(max_length=20, choices=Method.choices)
    interval = models.CharField(max_length=10, choices=Interval.choices, default=Interval.ONCE)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CREATED, db_index=True)
    wants_receipt = models.BooleanField(default=False)
    # What Stripe charged us and what reached the account, once known.
    stripe_fee = models.IntegerField(null=True, blank=True)
    net_amount = models.IntegerField(null=True, blank=True)
    amount_refunded = models.PositiveIntegerField(default=0)
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    stripe_setup_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_payment_method_id = models.CharField(max_length=255, blank=True)
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_charge_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_dispute_id = models.CharField(max_length=255, blank=True)
    # The SEPA mandate reference Stripe gives the bank (quoted in the pre-notification).
    sepa_mandate_reference = models.CharField(max_length=35, blank=True)
    # The latest dispute status seen ("needs_response", "won", "lost", ...): a late "created"
    # event must not reopen a dispute that is already closed.
    dispute_status = models.CharField(max_length=40, blank=True)
    failure_code = models.CharField(max_length=100, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    # The thank-you mail (for SEPA also the pre-notification) is queued once.
    thanked_at = models.DateTimeField(null=True, blank=True)
    # One receipt per donation at most: a single receipt or a line in the annual one.
    receipt = models.ForeignKey(
        "Receipt", on_delete=models.PROTECT, related_name="donations", null=True, blank=True
    )
    utm_source = models.CharField(max_length=100, blank=True)
    utm_medium = models.CharField(max_length=100, blank=True)
    utm_campaign = models.CharField(max_length=100, blank=True)
    utm_term = models.CharField(max_length=100, blank=True)
    utm_content = models.CharField(max_length=100, blank=True)
    # Where the gift started: the page's origin and path (no query, which may hold tokens).
    referrer = models.CharField(max_length=500, blank=True)
    # The petition it started from and the signing that led to it (from the signed reference
    # of the confirmation page). Ids as text, not foreign keys: donations do not know petitions.
    petition_slug = models.CharField(max_length=80, blank=True, db_index=True)
    signature_ref = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["mandate", "period"],
                condition=Q(mandate__isnull=False),
                name="donation_one_per_mandate_month",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="donation_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"Donation #{self.pk} {self.amount / 100:.2f} {self.currency} ({self.status})"

    @property
    def total_amount(self) -> int:
        return self.amount + self.fee_amount

    def can_move_to(self, status: str) -> bool:
        return status in self.ALLOWED_TRANSITIONS.get(self.status, set())


class StripeEvent(models.Model):
    """Each Stripe event id is stored once: a duplicate delivery finds the row and stops."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSING = "processing", "Processing"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored (unknown type)"
        FAILED = "failed", "Failed"

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100, db_index=True)
    payload = models.TextField(help_text="The raw body as Stripe sent it.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVED, db_index=True)
    outcome = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class ReceiptCounter(models.Model):
    """The last receipt number of a year, locked with select_for_update while a number is
    taken, so numbers have no gaps and no repeats."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class Receipt(TimeStampedModel):
    """A German donation receipt (Zuwendungsbestätigung). The donor's name and address are
    copied at issue time: the receipt states what was true then. The PDF is rendered from
    these fields whenever it is needed."""

    class Kind(models.TextChoices):
        SINGLE = "single", "Zuwendungsbestätigung"
        SIMPLIFIED = "simplified", "Vereinfachter Zuwendungsnachweis (bis 300 EUR)"
        ANNUAL = "annual", "Sammelbestätigung"

    class Status(models.TextChoices):
        ISSUED = "issued", "Issued"
        VOID = "void", "Void"

    year = models.PositiveSmallIntegerField()
    sequence = models.PositiveIntegerField()
    number = models.CharField(max_length=20, unique=True)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ISSUED, db_index=True)
    donor = models.ForeignKey(Donor, on_delete=models.PROTECT, related_name="receipts")
    donor_name = models.CharField(max_length=200)
    donor_address = models.TextField()
    amount = models.PositiveIntegerField(help_text="Cents.")
    currency = models.CharField(max_length=3, default="eur")
    donated_on = models.DateField(help_text="Date of the gift (for an annual receipt: the last gift).")
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    issued_at = models.DateTimeField()
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=100, blank=True)
    # A corrected receipt (after a partial refund) names the voided one it replaces.
    replaces = models.OneToOneField(
        "self", on_delete=models.PROTECT, related_name="replaced_by", null=True, blank=True
    )
    # After an erasure: donor_name and donor_address are sealed (campaign.privacy.sealing), kept
    # for the retention period of §147 AO and readable only for that duty.
    processing_restricted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-year", "-sequence"]
        constraints = [
            models.UniqueConstraint(fields=["year", "sequence"], name="receipt_year_sequence_unique"),
        ]

    def __str__(self) -> str:
        return f"Receipt {self.number} ({self.status})"
