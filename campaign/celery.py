"""The Celery app. Configuration comes from Django settings (namespace CELERY_), including the
one beat schedule (CELERY_BEAT_SCHEDULE in settings.py)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campaign.settings")

app = Celery("campaign")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
