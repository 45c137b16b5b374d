"""Regions, officials and deliveries of signature totals to them.

Nothing here is specific to one country: parliaments, constituencies and the postcode mapping
are data loaded by the import commands.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from campaign.models import TimeStampedModel


def postcode_normalize(postcode: str) -> str:
    """The form postcodes are stored and compared in: no spaces, upper case."""
    return "".join((postcode or "").split()).upper()


class Constituency(TimeStampedModel):
    """A constituency of one parliament *term*: boundaries and numbers change between elections
    (Berlin-Mitte was Wahlkreis 75 in 2021 and is 74 since 2025), so a number means something
    only together with its term, and data of two terms is never joined on the number."""

    parliament = models.SlugField(max_length=40, help_text='e.g. "bundestag"')
    term = models.CharField(
        max_length=20,
        blank=True,
        help_text='The election whose boundaries these are, e.g. "2025" (the 21st Bundestag).',
    )
    number = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    state = models.CharField(max_length=100, blank=True, help_text="State or region, e.g. Berlin.")

    class Meta:
        ordering = ["parliament", "term", "number"]
        verbose_name_plural = "constituencies"
        constraints = [
            models.UniqueConstraint(
                fields=["parliament", "term", "number"], name="constituency_unique_term_number"
            ),
        ]

    def __str__(self) -> str:
        term = f" {self.term}" if self.term else ""
        return f"{self.number} {self.name} ({self.parliament}{term})"


class PostcodeArea(models.Model):
    """One (postcode, constituency) pair with the share of the postcode's population (or
    area) that lies in the constituency. A postcode can span several constituencies; a
    signature is attributed to the one with the largest share."""

    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2, upper case.")
    postcode = models.CharField(max_length=16, help_text="Normalised: no spaces, upper case.")
    constituency = models.ForeignKey(Constituency, on_delete=models.CASCADE, related_name="postcode_areas")
    share = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=1,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
    )

    class Meta:
        ordering = ["country", "postcode", "-share"]
        constraints = [
            models.UniqueConstraint(
                fields=["country", "postcode", "constituency"], name="postcodearea_unique_pair"
            ),
            models.CheckConstraint(
                condition=Q(share__gte=0) & Q(share__lte=1), name="postcodearea_share_0_1"
            ),
        ]
        indexes = [models.Index(fields=["country", "postcode"], name="postcodearea_lookup_idx")]

    def __str__(self) -> str:
        return f"{self.country}-{self.postcode} -> {self.constituency_id} ({self.share})"


class RegionTotal(models.Model):
    """Counted signatures of a petition per region, maintained by the batch counter pass
    (never per signature) and rebuilt by the nightly recount.

    `bucket` is the row's key: `c:<constituency id>` for an attributed signature,
    `u:<country>` for a postcode the mapping does not know in a country it covers
    ("unassigned"), `f:<country>` for a country without a mapping (counted by country).
    A string key instead of a nullable foreign key keeps the upsert portable.
    """

    petition = models.ForeignKey("petitions.Petition", on_delete=models.CASCADE, related_name="region_totals")
    bucket = models.CharField(max_length=40)
    constituency = models.ForeignKey(
        Constituency, on_delete=models.CASCADE, null=True, blank=True, related_name="region_totals"
    )
    country = models.CharField(max_length=2, blank=True)
    state = models.CharField(max_length=100, blank=True)
    count = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["petition", "-count"]
        constraints = [
            models.UniqueConstraint(fields=["petition", "bucket"], name="regiontotal_unique_bucket"),
        ]

    def __str__(self) -> str:
        return f"{self.petition_id} {self.bucket}: {self.count}"


class Official(TimeStampedModel):
    class Language(models.TextChoices):
        DE = "de", "Deutsch"
        EN = "en", "English"

    class Mandate(models.TextChoices):
        NONE = "", "No seat (e.g. a ministry)"
        DIRECT = "direct", "Directly elected in the constituency"
        LIST = "list", "Elected from a list (may look after a constituency)"

    class AddressStatus(models.TextChoices):
        UNVERIFIED = "unverified", "Unverified"  # imported or changed: never mailed
        PENDING = "pending", "Verification mail sent"
        VERIFIED = "verified", "Verified"

    class VerificationMethod(models.TextChoices):
        NONE = "", "Not verified"
        MAIL = "mail", "The office clicked the link of a verification mail"
        MANUAL = "manual", "Checked by staff (recorded note)"

    name = models.CharField(max_length=200)
    salutation = models.CharField(
        max_length=200, blank=True, help_text='The greeting line, e.g. "Sehr geehrte Frau Dr. Beispiel".'
    )
    email = models.EmailField(max_length=254, unique=True)
    role = models.CharField(max_length=200, blank=True, help_text="e.g. Member of the Bundestag")
    organisation = models.CharField(max_length=200, blank=True, help_text="e.g. a party or a ministry")
    constituency = models.ForeignKey(
        Constituency, on_delete=models.SET_NULL, null=True, blank=True, related_name="officials"
    )
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.DE)
    active = models.BooleanField(default=True)
    external_id = models.CharField(
        max_length=64,
        blank=True,
        help_text='The id in the source the official was loaded from, e.g. "bundestag:2834".',
    )
    parliament = models.SlugField(max_length=40, blank=True, help_text="The parliament the official sits in.")
    state = models.CharField(
        max_length=100, blank=True, help_text="The state (Land) the official represents."
    )
    mandate = models.CharField(max_length=10, choices=Mandate.choices, default=Mandate.NONE, blank=True)
    office_address = models.CharField(
        max_length=300, blank=True, help_text="The public postal contact of the official's office."
    )
    address_status = models.CharField(
        max_length=12, choices=AddressStatus.choices, default=AddressStatus.UNVERIFIED
    )
    address_verification_method = models.CharField(
        max_length=10, choices=VerificationMethod.choices, default=VerificationMethod.NONE, blank=True
    )
    address_verified_at = models.DateTimeField(null=True, blank=True)
    address_verified_by = models.CharField(
        max_length=150, blank=True, help_text="The staff user who verified or sent the verification mail."
    )
    address_verification_note = models.CharField(max_length=500, blank=True)
    # SHA-256 of the link token of the last verification mail; the token itself is not stored.
    address_verification_token_hash = models.CharField(max_length=64, blank=True)
    address_verification_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"], condition=~Q(external_id=""), name="official_unique_external_id"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def address_verified(self) -> bool:
        return self.address_status == self.AddressStatus.VERIFIED


class DeliveryPlan(TimeStampedModel):
    """Which officials get a petition's totals, on which milestones and on what schedule."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    petition = models.ForeignKey(
        "petitions.Petition", on_delete=models.CASCADE, related_name="delivery_plans"
    )
    name = models.CharField(max_length=200)
    active = models.BooleanField(default=True)
    officials = models.ManyToManyField(Official, blank=True, related_name="delivery_plans")
    parliament = models.SlugField(
        max_length=40,
        blank=True,
        help_text="Also deliver to all active members of this parliament (narrowed by the two fields below).",
    )
    direct_only = models.BooleanField(
        default=False,
        help_text="Of the parliament, only the directly elected members, each with their own constituency's count.",
    )
    state = models.CharField(
        max_length=100,
        blank=True,
        help_text="Of the parliament, only the members of this state (Land), e.g. Bayern; each mail states the state's count.",
    )
    milestones = models.JSONField(
        default=list, blank=True, help_text="Milestone targets that trigger a delivery, e.g. [10000, 50000]."
    )
    schedule_weekday = models.PositiveSmallIntegerField(choices=Weekday.choices, null=True, blank=True)
    schedule_time = models.TimeField(null=True, blank=True)
    schedule_timezone = models.CharField(max_length=64, default="Europe/Berlin")
    only_when_changed = models.BooleanField(
        default=True, help_text="Skip a scheduled delivery when the total has not changed since the last one."
    )
    include_names = models.BooleanField(
        default=False,
        help_text="Attach the names (name, postcode, date) of signers who agreed to have them passed on.",
    )
    hourly_cap = models.PositiveIntegerField(
        default=60,
        validators=[MinValueValidator(1)],
        help_text="At most this many mails per hour for the campaign (the smallest cap of its plans applies).",
    )
    # The last weekly period (ISO week, e.g. 2026-W48) this plan's schedule was evaluated for.
    last_period = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ["petition", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(schedule_weekday__isnull=True, schedule_time__isnull=True)
                | Q(schedule_weekday__isnull=False, schedule_time__isnull=False),
                name="deliveryplan_schedule_complete",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        from django.core.exceptions import ValidationError

        errors: dict[str, str] = {}
        milestones = self.milestones if isinstance(self.milestones, list) else None
        if milestones is None or not all(isinstance(t, int) and t > 0 for t in milestones):
            errors["milestones"] = "A list of positive whole numbers, e.g. [10000, 50000]."
        try:
            ZoneInfo(self.schedule_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            errors["schedule_timezone"] = "An IANA time zone name, e.g. Europe/Berlin."
        if (self.schedule_weekday is None) != (self.schedule_time is None):
            errors["schedule_time"] = "Set both weekday and time for a weekly delivery, or neither."
        if errors:
            raise ValidationError(errors)


class Delivery(TimeStampedModel):
    """One mail to one official about one petition, for one trigger. The unique constraint
    means nobody receives the same milestone or period twice, however often a task runs or the
    count crosses the milestone again."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"  # waiting for room under the hourly cap
        QUEUED = "queued", "Queued"  # handed to the outbox
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        NEEDS_REVIEW = "needs_review", "Needs review"  # the worker died mid-send: maybe sent
        CANCELED = "canceled", "Canceled"

    official = models.ForeignKey(Official, on_delete=models.PROTECT, related_name="deliveries")
    petition = models.ForeignKey("petitions.Petition", on_delete=models.CASCADE, related_name="deliveries")
    plan = models.ForeignKey(
        DeliveryPlan, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries"
    )
    campaign = models.ForeignKey("campaign.Campaign", on_delete=models.CASCADE, related_name="deliveries")
    trigger = models.CharField(max_length=40, help_text="milestone:<target> or period:<ISO week>")
    totals = models.JSONField(default=dict, help_text="The totals this mail states, as of its creation.")
    include_names = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    released_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    outgoing_email = models.ForeignKey(
        "campaign.OutgoingEmail", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resend_count = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["official", "petition", "trigger"], name="delivery_unique_trigger"
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "status", "created_at"], name="delivery_release_idx"),
            models.Index(fields=["campaign", "released_at"], name="delivery_cap_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.trigger} to official {self.official_id} ({self.status})"
