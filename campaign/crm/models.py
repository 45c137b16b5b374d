"""The CRM webhook outbox: one row per event to hand over (imported by campaign.models)."""

from __future__ import annotations

import uuid

from django.db import models


class CrmDelivery(models.Model):
    """One signed webhook to the CRM (subscribe, unsubscribe, erasure). A worker claims it with
    a conditional UPDATE, POSTs it, and on failure puts it back with `next_attempt_at` further
    off each time; after CRM_WEBHOOK_MAX_ATTEMPTS it is dead-lettered for staff to retry.
    The payload holds the address only until it is delivered (the keyed hash stays)."""

    class Event(models.TextChoices):
        SUBSCRIBE = "subscribe", "Newsletter subscribe"
        UNSUBSCRIBE = "unsubscribe", "Newsletter unsubscribe"
        ERASURE = "erasure", "Erasure"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        INFLIGHT = "inflight", "Being delivered"
        DELIVERED = "delivered", "Delivered"
        DEAD = "dead", "Dead letter (retries used up)"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event = models.CharField(max_length=12, choices=Event.choices)
    email_hash = models.CharField(max_length=64, db_index=True)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True)

    class Meta:
        app_label = "campaign"
        ordering = ["-created_at", "-pk"]
        verbose_name = "CRM delivery"
        verbose_name_plural = "CRM deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="crm_delivery_due")]

    def __str__(self) -> str:
        return f"CRM {self.event} #{self.pk} ({self.status})"
