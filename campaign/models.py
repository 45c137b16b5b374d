from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Organisation(TimeStampedModel):
    """The organisation behind a campaign: the imprint its pages and mails carry (German law
    requires the sender's name, address and contact) and, if it receives donations, the tax
    details its donation receipts state. A campaign without one uses the service-wide
    settings (ORG_* and RECEIPT_*)."""

    name = models.CharField(max_length=200)
    address = models.CharField(max_length=300, help_text="One line: street, postcode, city, country.")
    email = models.EmailField()
    phone = models.CharField(max_length=50, blank=True)
    website = models.URLField(blank=True)
    register = models.CharField(
        max_length=200, blank=True, help_text='e.g. "Amtsgericht Berlin-Charlottenburg VR 00000".'
    )
    representative = models.CharField(max_length=200, blank=True, help_text="Who represents it by law.")
    # The donation receipt's details. Receipts of a campaign whose organisation has no tax
    # number state the service-wide RECEIPT_* details instead.
    tax_office = models.CharField(max_length=200, blank=True)
    tax_number = models.CharField(max_length=50, blank=True)
    exemption_date = models.CharField(
        max_length=20, blank=True, help_text="Date of the exemption notice (YYYY-MM-DD)."
    )
    exemption_period = models.CharField(max_length=50, blank=True, help_text='e.g. "2021 bis 2023".')
    purpose = models.CharField(max_length=300, blank=True, help_text="The tax-privileged purpose.")
    signatory = models.CharField(max_length=200, blank=True, help_text='e.g. "Der Vorstand".')
    place = models.CharField(max_length=100, blank=True, help_text="Where receipts are issued.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Campaign(TimeStampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        LIVE = "live", "Live"
        CLOSED = "closed", "Closed"

    slug = models.SlugField(max_length=80, unique=True)
    title_de = models.CharField(max_length=200)
    title_en = models.CharField(max_length=200, blank=True)
    description_de = models.TextField(blank=True)
    description_en = models.TextField(blank=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    currency = models.CharField(max_length=3, default="eur")
    donation_goal = models.PositiveIntegerField(default=0, help_text="In cents; 0 means no goal.")
    suggested_amounts = models.JSONField(
        default=list, blank=True, help_text="Suggested gifts in cents, e.g. [1000, 2500, 5000]."
    )
    accent_color = models.CharField(
        max_length=7,
        default="#b3123a",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "A colour as #rrggbb.")],
        help_text="The campaign's colour on the pages people open from mails (#rrggbb).",
    )
    organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="campaigns",
        help_text="Whose imprint its pages and mails carry; empty: the service-wide ORG_* settings.",
    )

    class Meta:
        ordering = ["-created_at"]
        # The staff roles' permissions (campaign/permissions.py), on the core model so that
        # every app can check them.
        permissions = [
            ("view_reports", "View counts, charts, regional totals and the delivery log (no personal data)"),
            ("organise", "Manage petitions, milestones, delivery plans, officials and supporter updates"),
            ("export_personal_data", "Download signer lists with personal data"),
            ("manage_finance", "Manage donations, refunds, receipts and mandates"),
            ("privacy_officer", "Handle erasure and access requests; read the audit trail"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True)
                | Q(starts_at__isnull=True)
                | Q(ends_at__gt=models.F("starts_at")),
                name="campaign_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.title_de or self.slug

    @property
    def is_public(self) -> bool:
        return self.status != self.Status.DRAFT


class OutgoingEmail(TimeStampedModel):
    """One mail to send: the outbox row every app writes in the same transaction as its
    business change. A worker claims it (QUEUED -> INFLIGHT) with a conditional UPDATE, so a
    redelivered task message never sends twice.

    The body is rendered at send time from `kind` and `context`; a builder registered for the
    kind (campaign.emails) may add data that must not rest in the database, such as a fresh
    token, or attachments. `context` holds no more personal data than the mail needs and is
    cleared once the mail is sent.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        INFLIGHT = "inflight", "In flight"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        NEEDS_REVIEW = "needs_review", "Needs review"
        CANCELED = "canceled", "Canceled"

    kind = models.CharField(max_length=80, db_index=True)
    to_email = models.CharField(max_length=254)
    locale = models.CharField(max_length=5, default="de")
    context = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # Mails to officials are at-most-once: a row whose worker died mid-send goes to review
    # instead of being sent again.
    at_most_once = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    last_error = models.CharField(max_length=255, blank=True)
    # What the mail is about, for audits and lookups (e.g. "petitions.signature", 42).
    subject_type = models.CharField(max_length=60, blank=True)
    subject_id = models.BigIntegerField(null=True, blank=True)
    # The campaign the mail is about: its organisation's imprint goes into the mail. No index
    # and no database constraint: nothing looks mails up by campaign, and the sign path writes
    # one row per signature, where a foreign-key check would lock the campaign row each time.
    # A campaign with mails has petitions or donations, which protect it from deletion.
    campaign = models.ForeignKey(
        Campaign,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The sweeper's scans: rows still queued or in flight, oldest first.
            models.Index(
                fields=["status", "enqueued_at"],
                name="outbox_pending_idx",
                condition=Q(status__in=["queued", "inflight"]),
            ),
            models.Index(fields=["subject_type", "subject_id"], name="outbox_subject_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"


class ExportLog(models.Model):
    """One staff export: who took which data, when, with which filters, and how many rows.

    Written when the export starts; `row_count` and `finished` are set when the stream ends, so
    an export the client broke off shows as unfinished with the rows sent until then.
    """

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"
        PDF = "pdf", "PDF"  # the officials' handover report

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="export_logs"
    )
    # Kept when the account is deleted: the audit must still say who exported.
    username = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(
        max_length=80, db_index=True, help_text='What was exported, e.g. "petitions.signatures".'
    )
    format = models.CharField(max_length=8, choices=Format.choices)
    filters = models.JSONField(default=dict, blank=True)
    row_count = models.PositiveBigIntegerField(null=True, blank=True)
    finished = models.BooleanField(default=False)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind}.{self.format} by {self.username} at {self.created_at:%Y-%m-%d %H:%M}"


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> int:
        raise AuditEntryImmutable("audit entries are never changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditEntryImmutable("audit entries are deleted only by the retention purge")


class AuditEntryImmutable(Exception):
    pass


class AuditEntry(models.Model):
    """One thing a staff member did or read: append-only (the model refuses to change or
    delete a row, and on PostgreSQL a trigger refuses it too, except for the retention purge).

    Holds ids, counts and the filters of an export, never personal data itself: an erasure
    must not leave a copy behind here. Written through campaign.audit.audit_record().
    """

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # No foreign key: deleting the account must neither change nor delete its entries.
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_username = models.CharField(max_length=150, blank=True, db_index=True)
    ip_hash = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=80, db_index=True, help_text='e.g. "export", "signature.flag"')
    object_type = models.CharField(max_length=80, blank=True, help_text='e.g. "petitions.signature"')
    object_id = models.CharField(max_length=64, blank=True)
    row_count = models.PositiveBigIntegerField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True, help_text="Filters and options; no personal data.")

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_username or '-'} at {self.created_at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditEntryImmutable("audit entries are never changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditEntryImmutable("audit entries are deleted only by the retention purge")


class StaffToken(models.Model):
    """An API token of a staff member, issued from a session verified with the second factor.
    Only the SHA-256 of the key is stored; the key is shown once. It expires and can be revoked."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_tokens")
    name = models.CharField(max_length=100, blank=True, help_text="What the token is for.")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="The key's first characters, to recognise it.")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user_id})"

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class ErasureReceipt(models.Model):
    """What an erasure by e-mail address did: per area what was erased (counts) and what was
    kept and why. It holds a keyed hash of the address (campaign.privacy.hashing), never the
    address, so a repeated request can be matched without keeping what was erased."""

    class Origin(models.TextChoices):
        STAFF = "staff", "Staff (API)"
        COMMAND = "command", "Management command"
        PERSON = "person", "Request by the person"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    email_hash = models.CharField(max_length=64, db_index=True)
    origin = models.CharField(max_length=10, choices=Origin.choices)
    requested_by = models.CharField(max_length=150, blank=True, help_text="The staff account, if any.")
    erased = models.JSONField(default=dict)
    kept = models.JSONField(default=list)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Erasure #{self.pk} at {self.created_at:%Y-%m-%d %H:%M}"


class SuppressedAddress(models.Model):
    """An address that gets no further non-transactional mail (updates, newsletters,
    reminders): unsubscribed, hard-bounced, complained about, or erased. Stored as a keyed
    hash (campaign.privacy.hashing); transactional mails (confirmations, receipts) still go."""

    class Reason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        BOUNCED = "bounced", "Hard bounce"
        COMPLAINED = "complained", "Complaint"
        ERASED = "erased", "Erased"

    email_hash = models.CharField(max_length=64, unique=True)
    reason = models.CharField(max_length=12, choices=Reason.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "suppressed addresses"

    def __str__(self) -> str:
        return f"{self.reason} {self.email_hash[:12]}"


class PrivacyRequest(models.Model):
    """A request by a person (GDPR Art. 15 access, Art. 17 erasure), made with their e-mail
    address and confirmed through a link mailed to it. The address rests only sealed
    (campaign.privacy.sealing) and only while it is needed: until the erasure ran, or until the
    access export expired; the keyed hash stays for the record and the per-address limit."""

    class Kind(models.TextChoices):
        ACCESS = "access", "Access (Art. 15)"
        ERASURE = "erasure", "Erasure (Art. 17)"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the person's confirmation"
        UNKNOWN = "unknown", "Nothing held about the address (no mail sent)"
        LIMITED = "limited", "Dropped: too many requests for the address"
        COMPLETED = "completed", "Completed"
        EXPIRED = "expired", "Not confirmed in time"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, db_index=True)
    email_hash = models.CharField(max_length=64, db_index=True)
    email_sealed = models.TextField(blank=True)
    locale = models.CharField(max_length=5, default="de")
    # The answer is due a month after the request (Art. 12(3)).
    due_at = models.DateTimeField()
    confirm_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    export_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    export_expires_at = models.DateTimeField(null=True, blank=True)
    erasure_receipt = models.ForeignKey(
        ErasureReceipt, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} request #{self.pk} ({self.status})"


class ConsentRecord(models.Model):
    """The proof of one consent for one purpose (the petition's double opt-in, its updates,
    the newsletter): which text (version and SHA-256), when, from which page, when it was
    confirmed by the link mailed to the address, and when and how it ended. It names the
    person only by the keyed hash of the address (campaign.privacy.hashing), so it stays as
    proof after an erasure."""

    class Purpose(models.TextChoices):
        PETITION = "petition", "Petition signature (double opt-in)"
        UPDATES = "updates", "Petition updates"
        NEWSLETTER = "newsletter", "Newsletter"

    purpose = models.CharField(max_length=12, choices=Purpose.choices)
    # What the consent was given with, e.g. ("petitions.signature", 42).
    subject_type = models.CharField(max_length=60)
    subject_id = models.BigIntegerField()
    email_hash = models.CharField(max_length=64, db_index=True)
    scope = models.CharField(max_length=80, blank=True, help_text="e.g. the petition's slug")
    text_version = models.CharField(max_length=40, blank=True)
    text_sha256 = models.CharField(max_length=64, blank=True)
    given_at = models.DateTimeField()
    origin = models.CharField(max_length=500, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_how = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["given_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["purpose", "subject_type", "subject_id"], name="consent_one_per_purpose_and_subject"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} consent #{self.pk}"


class ExportJob(models.Model):
    """A staff export run in the background (the staff pages): the worker writes the file to
    the default storage, keeps `rows_written` up to date for the progress bar, and the file is
    deleted when `expires_at` has passed. Which data a `kind` exports is registered by its app
    (campaign.export_jobs)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="export_jobs"
    )
    username = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=80)
    format = models.CharField(max_length=8, choices=ExportLog.Format.choices)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total_rows = models.PositiveBigIntegerField(null=True, blank=True)
    rows_written = models.PositiveBigIntegerField(default=0)
    file = models.CharField(max_length=300, blank=True, help_text="Name in the default storage.")
    filename = models.CharField(max_length=200, blank=True, help_text="The download's file name.")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    error = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"export {self.pk} {self.kind}.{self.format} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status in {self.Status.DONE, self.Status.EXPIRED}:
            return 100
        if not self.total_rows:
            return 0
        return min(99, self.rows_written * 100 // self.total_rows)


# The CRM webhook outbox lives with its sub-domain; imported here so Django registers it.
from campaign.crm.models import CrmDelivery  # noqa: E402, F401
