"""The beat scheduler: django-celery-beat's DatabaseScheduler (the schedule and each task's last
run live in PostgreSQL, so a redeploy neither forgets a run nor restarts the clock, and a run
missed while beat was down is sent at the next start), with one addition: only the beat that
holds a PostgreSQL advisory lock sends anything. A second beat (a deploy overlapping the old
one, a scaled service) waits, and takes over within seconds when the first one dies, because
the lock goes with the first one's database session.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import psycopg
from django.db import connections
from django.utils import timezone
from django_celery_beat.schedulers import SCHEDULE_SYNC_MAX_INTERVAL, DatabaseScheduler

logger = logging.getLogger(__name__)

# pg_try_advisory_lock key of the beat leader (any constant unique to this project).
BEAT_LOCK_KEY = 0x62656174  # "beat"
# How often a waiting beat tries for the lock.
FOLLOWER_RETRY_SECONDS = 2.0


def _lock_connection() -> psycopg.Connection | None:
    """A dedicated connection (not Django's, which beat closes between ticks) holding the lock,
    or None when another beat holds it."""
    params = connections["default"].get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    params.pop("server_side_binding", None)
    conn = psycopg.connect(**params, autocommit=True)
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", [BEAT_LOCK_KEY]).fetchone()
    if row and row[0]:
        return conn
    conn.close()
    return None


class SingleBeatScheduler(DatabaseScheduler):
    _lock: psycopg.Connection | None = None

    def _is_leader(self) -> bool:
        if connections["default"].vendor != "postgresql":
            return True  # one process only in the local run
        if self._lock is not None:
            try:
                self._lock.execute("SELECT 1")
                return True
            except psycopg.Error:
                logger.warning("beat lost its database session and with it the beat lock")
                self._lock = None
        try:
            self._lock = _lock_connection()
        except psycopg.Error as exc:
            logger.warning("beat could not reach the database for its lock (%s)", type(exc).__name__)
            return False
        if self._lock is None:
            return False
        logger.info("this beat holds the beat lock and sends the periodic tasks")
        # Read the schedule afresh: another beat may have sent tasks since this one started.
        self._initial_read = True
        self._heap = None
        return True

    def enabled_models_qs(self) -> Any:
        # django-celery-beat leaves out crontab tasks whose hour is more than two hours from now
        # (a saving for thousands of tasks). That would also leave out a nightly run missed
        # during a deploy, which must run at the next start; this project has a dozen tasks.
        next_sync = timezone.now() + timedelta(seconds=SCHEDULE_SYNC_MAX_INTERVAL)
        return self.Model.objects.enabled().exclude(
            clocked__isnull=False, clocked__clocked_time__gt=next_sync
        )

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if not self._is_leader():
            return FOLLOWER_RETRY_SECONDS
        return float(super().tick(*args, **kwargs))

    def close(self) -> None:
        super().close()
        if self._lock is not None:
            self._lock.close()
            self._lock = None
