"""Petitions, their milestones and signatures.

Counting rule: `Petition.signature_count` is maintained only by the batch counter pass
(`petitions.counting.petition_counts_update`). A signature is included exactly when it is
confirmed and not flagged; its `counted` flag records whether it currently is, so the pass
flips the flags that differ and adds the +1/-1 deltas in one statement. No request ever
updates a counter row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from campaign.models import Campaign, TimeStampedModel


class Petition(TimeStampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="petitions")
    slug = models.SlugField(max_length=80, unique=True)
    title_de = models.CharField(max_length=200)
    title_en = models.CharField(max_length=200, blank=True)
    text_de = models.TextField(blank=True)
    text_en = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    opens_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    consent_text_de = models.TextField(
        blank=True, help_text="The privacy consent text the form shows (German)."
    )
    consent_text_en = models.TextField(blank=True)
    # The texts next to the optional checkboxes: each purpose's consent is recorded with the
    # hash of its own text (campaign.privacy.consent).
    updates_consent_text_de = models.TextField(
        blank=True, help_text="The text next to the 'send me updates' checkbox (German)."
    )
    updates_consent_text_en = models.TextField(blank=True)
    newsletter_consent_text_de = models.TextField(
        blank=True, help_text="The text next to the newsletter checkbox (German)."
    )
    newsletter_consent_text_en = models.TextField(blank=True)
    consent_version = models.CharField(
        max_length=40,
        default="1",
        help_text="Change this whenever the consent text changes; the form sends the version it showed.",
    )
    altcha_enabled = models.BooleanField(
        default=False, help_text="Require a solved ALTCHA proof of work when signing."
    )
    # Operator switch: signing answers 409 `signing_paused` with this message (or the default).
    signing_paused = models.BooleanField(
        default=False, help_text="Pause signing (the page stays up; signing answers with the message below)."
    )
    signing_paused_message_de = models.CharField(max_length=300, blank=True)
    signing_paused_message_en = models.CharField(max_length=300, blank=True)
    # Maintained ONLY by the counter pass: confirmed, unflagged online signatures.
    signature_count = models.PositiveIntegerField(default=0, editable=False)
    offline_count = models.PositiveIntegerField(
        default=0, help_text="Paper signatures collected offline; included in the public total."
    )
    counts_updated_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The online count the public sees (the count endpoint), also maintained only by the pass:
    # it moves from `public_count_before` to `public_count` at the first boundary of the count
    # cache period after `public_count_changed_at`, in every process at the same moment, so
    # the counter never goes back from one request to the next (petitions.selectors).
    public_count = models.PositiveIntegerField(default=0, editable=False)
    public_count_before = models.PositiveIntegerField(default=0, editable=False)
    public_count_changed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_at__isnull=True)
                | Q(opens_at__isnull=True)
                | Q(closes_at__gt=models.F("opens_at")),
                name="petition_closes_after_open",
            ),
        ]

    def __str__(self) -> str:
        return self.title_de or self.slug

    @property
    def total_count(self) -> int:
        return self.signature_count + self.offline_count


class Milestone(models.Model):
    petition = models.ForeignKey(Petition, on_delete=models.CASCADE, related_name="milestones")
    target = models.PositiveIntegerField()
    # Set once, by a conditional update, when the total first reaches the target; a count that
    # drops and rises again does not notify twice.
    reached_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["petition", "target"]
        constraints = [
            models.UniqueConstraint(fields=["petition", "target"], name="milestone_unique_target"),
            models.CheckConstraint(condition=Q(target__gt=0), name="milestone_target_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.target}"


# The rows the counter pass must flip: included but should not be, or the other way round.
# Kept as one expression so the partial index and the pass's WHERE are the same.
COUNT_MISMATCH_Q = Q(counted=True) & ~Q(status="confirmed", is_flagged=False) | Q(
    counted=False, status="confirmed", is_flagged=False
)


# The rows the report rollup pass must (re-)add: their status or flag differs from what the
# rollup holds of them (`report_status` "" : not in it yet). Shared by the partial index, the
# pass and the report's read of the rows not yet rolled up (petitions.report_rollup).
REPORT_MISMATCH_Q = ~Q(report_status=F("status")) | ~Q(report_flagged=F("is_flagged"))


class Signature(TimeStampedModel):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending confirmation"
        CONFIRMED = "confirmed", "Confirmed"
        WITHDRAWN = "withdrawn", "Withdrawn"

    # No index of its own: the unique (petition, email_normalized) index serves petition
    # lookups, and every index costs time on the signing hot path.
    petition = models.ForeignKey(
        Petition, on_delete=models.PROTECT, related_name="signatures", db_index=False
    )
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    email = models.CharField(max_length=254, help_text="As entered.")
    # lower-case, no +tag, gmail dots dropped, googlemail -> gmail; a tombstone after withdrawal.
    email_normalized = models.CharField(max_length=254)
    email_domain = models.CharField(max_length=253, blank=True)
    postcode = models.CharField(max_length=16, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2, upper case.")
    city = models.CharField(max_length=100, blank=True)
    locale = models.CharField(max_length=5, default="de")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    is_flagged = models.BooleanField(default=False)
    flag_reason = models.CharField(max_length=100, blank=True)
    newsletter_consent = models.BooleanField(default=False)
    # Agreed to receive the petition's updates (supporter mails; petitions.updates).
    updates_consent = models.BooleanField(default=False)
    show_name_publicly = models.BooleanField(default=False)
    share_name_with_officials = models.BooleanField(default=False)
    utm_source = models.CharField(max_length=100, blank=True)
    utm_medium = models.CharField(max_length=100, blank=True)
    utm_campaign = models.CharField(max_length=100, blank=True)
    referrer = models.CharField(max_length=500, blank=True)
    # The consent record: which text (version and SHA-256 of the exact text shown), when, from
    # which page (Origin/Referer), and an HMAC-SHA256 of the IP address with HASH_SECRET.
    consent_version = models.CharField(max_length=40, blank=True)
    consent_text_hash = models.CharField(max_length=64, blank=True)
    consent_at = models.DateTimeField(null=True, blank=True)
    consent_origin = models.CharField(max_length=500, blank=True)
    ip_hash = models.CharField(max_length=64, blank=True)
    # For the burst check (petitions.shared_networks): an HMAC of the User-Agent header (equal
    # browsers compare equal, nothing more), and whether the address was in
    # PETITIONS_IP_ALLOWLIST at signing (the worker sees only the hash).
    user_agent_hash = models.CharField(max_length=64, blank=True, default="", db_default="")
    ip_allowlisted = models.BooleanField(default=False, db_default=False)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    # Whether the signature is currently included in Petition.signature_count (counter pass).
    counted = models.BooleanField(default=False)
    # What the report rollup (SignatureReportRollup) holds of this signature: its status and
    # flag when the rollup pass last added it; "" : not added yet. Database defaults, so the
    # sign path's INSERT need not name them.
    report_status = models.CharField(max_length=10, blank=True, default="", db_default="", editable=False)
    report_flagged = models.BooleanField(default=False, db_default=False, editable=False)
    # Confirmation mails: at most PETITIONS_CONFIRMATION_MAX_MAILS in total, one per interval.
    confirmation_mail_count = models.PositiveSmallIntegerField(default=0)
    confirmation_mail_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    # The silent fraud checks run once, in the task that sends the first confirmation mail.
    fraud_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["petition", "email_normalized"], name="signature_unique_email_per_petition"
            ),
        ]
        indexes = [
            models.Index(fields=["petition"], condition=COUNT_MISMATCH_Q, name="signature_count_todo_idx"),
            models.Index(fields=["petition"], condition=REPORT_MISMATCH_Q, name="signature_report_todo_idx"),
            # The fraud windows and staff invalidations: led by the address or domain, so the
            # window query's row comparison (petitions.fraud) fits no other index.
            models.Index(fields=["ip_hash", "petition", "created_at"], name="signature_by_ip_idx"),
            models.Index(fields=["email_domain", "petition", "created_at"], name="signature_by_domain_idx"),
            models.Index(
                fields=["petition", "-confirmed_at"],
                condition=Q(status="confirmed", is_flagged=False, show_name_publicly=True),
                name="signature_recent_public_idx",
            ),
            models.Index(fields=["created_at"], condition=Q(status="pending"), name="signature_pending_idx"),
        ]

    def __str__(self) -> str:
        return f"Signature #{self.pk}"


class SignatureReportRollup(models.Model):
    """The staff report's figures, pre-aggregated: how many signatures of a petition were made
    in one hour with one source (utm triple, referring domain) and are in one status. Kept by
    the rollup pass from the signatures' `report_status`/`report_flagged` (petitions.
    report_rollup), so the report of a million signatures reads a few thousand rows."""

    petition = models.ForeignKey(Petition, on_delete=models.CASCADE, related_name="+", db_index=False)
    hour = models.BigIntegerField(help_text="Hours since the Unix epoch (UTC) of the signing.")
    utm_source = models.CharField(max_length=100, blank=True)
    utm_medium = models.CharField(max_length=100, blank=True)
    utm_campaign = models.CharField(max_length=100, blank=True)
    referrer_domain = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=Signature.Status.choices)
    is_flagged = models.BooleanField()
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "petition",
                    "hour",
                    "utm_source",
                    "utm_medium",
                    "utm_campaign",
                    "referrer_domain",
                    "status",
                    "is_flagged",
                ],
                name="signature_report_rollup_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.petition_id}@{self.hour}: {self.count}"


class SignatureToken(models.Model):
    """A token from a mail link. Only its SHA-256 is stored; the token itself exists in the
    mail alone (minted at send time, never in the outbox row)."""

    class Purpose(models.TextChoices):
        CONFIRM = "confirm", "Confirm"
        WITHDRAW = "withdraw", "Withdraw"

    signature = models.ForeignKey(Signature, on_delete=models.CASCADE, related_name="tokens")
    purpose = models.CharField(max_length=10, choices=Purpose.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.purpose} token #{self.pk}"


INVALIDATION_FLAG_PREFIX = "invalidation:"


class Invalidation(TimeStampedModel):
    """A staff bulk invalidation: which filters, by whom, how many signatures it flagged."""

    petition = models.ForeignKey(Petition, on_delete=models.PROTECT, related_name="invalidations")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    ip_hash = models.CharField(max_length=64, blank=True)
    email_domain = models.CharField(max_length=253, blank=True)
    created_from = models.DateTimeField(null=True, blank=True)
    created_to = models.DateTimeField(null=True, blank=True)
    # Set when the invalidation came from the fraud review queue: the flag reason it targeted.
    flag_reason = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    signature_count = models.PositiveIntegerField(default=0)
    # An undo puts every signature back as it was (petitions.invalidation.invalidation_undo).
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    undone_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invalidation #{self.pk} ({self.signature_count})"

    @property
    def flag_prefix(self) -> str:
        """The start of `Signature.flag_reason` of every signature this invalidation flagged:
        `invalidation:<id>` for one that was unflagged before, `invalidation:<id>:<reason>`
        for one it took from the review queue (its earlier reason kept for the undo)."""
        return f"{INVALIDATION_FLAG_PREFIX}{self.pk}"


class PetitionUpdate(TimeStampedModel):
    """A supporter update an organiser wrote for a petition: a preview (with a test send to
    the organiser) or a mailing to the confirmed signers who agreed to updates, queued in
    batches (`petitions.updates`). `cursor` is the last signature id queued, so a batch that
    runs twice never queues anyone twice."""

    class Status(models.TextChoices):
        PREVIEW = "preview", "Preview (test send only)"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"

    petition = models.ForeignKey(Petition, on_delete=models.CASCADE, related_name="updates")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    subject_de = models.CharField(max_length=200)
    body_text_de = models.TextField()
    subject_en = models.CharField(max_length=200, blank=True)
    body_text_en = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PREVIEW)
    cursor = models.BigIntegerField(default=0)
    # The sending rate, fixed when the mailing starts (from the settings of that moment), so
    # every worker that runs a batch keeps to the same one.
    batch_size = models.PositiveIntegerField(default=200)
    batch_interval_seconds = models.PositiveIntegerField(default=60)
    recipient_count = models.PositiveIntegerField(default=0)
    suppressed_count = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Update #{self.pk} ({self.status})"

    def text(self, locale: str) -> tuple[str, str]:
        """(subject, body) in the language, German where no English text was written."""
        if locale == "en" and self.subject_en and self.body_text_en:
            return self.subject_en, self.body_text_en
        return self.subject_de, self.body_text_de
