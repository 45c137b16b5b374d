"""Test settings: the real PostgreSQL and Redis (the README's test command provides them).

Each test run gets its own database, Celery queue and cache prefix, named by a run id that
worker processes started by the tests inherit through the environment, so two runs on one
machine do not consume each other's tasks.
"""

from __future__ import annotations

import os
import tempfile
import uuid

os.environ.setdefault(
    "DATABASE_URL", os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
)
os.environ.setdefault("REDIS_URL", os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
RUN_ID = os.environ.setdefault("CAMPAIGN_TEST_RUN_ID", uuid.uuid4().hex[:10])
os.environ.setdefault("CELERY_TASK_DEFAULT_QUEUE", f"test-{RUN_ID}")
os.environ.setdefault("CACHE_KEY_PREFIX", f"test-{RUN_ID}")
# The export files of this run (shared with its worker processes through the environment).
os.environ.setdefault("MEDIA_ROOT", os.path.join(tempfile.gettempdir(), f"campaign-test-media-{RUN_ID}"))

from campaign.settings import *  # noqa: E402,F403
from campaign.settings import DATABASES  # noqa: E402

DATABASES["default"]["TEST"] = {"NAME": f"test_campaign_{RUN_ID}"}
DATABASES["default"]["CONN_MAX_AGE"] = 0
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests run tasks on a real worker, never eagerly (Celery's testing guide).
CELERY_TASK_ALWAYS_EAGER = False
OUTBOX_PUBLISH_IN_BACKGROUND = True
PETITION_COUNTS_AFTER_EACH_CHANGE = False
CELERY_BEAT_SCHEDULE = {}
