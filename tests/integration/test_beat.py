"""Beat on the real parts: django-celery-beat's schedule in PostgreSQL, real `celery beat`
processes, the real Redis broker. Each test has its own queue, which no worker consumes, so
every task a beat sent is still there to count."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import ClockedSchedule, CrontabSchedule, PeriodicTask

from tests.conftest import REPO_ROOT, _worker_env, wait_until
from tests.processes import die_with_parent

pytestmark = pytest.mark.integration

TASK = "campaign.outgoing_email_sweep"  # idempotent, takes no arguments


class Beat:
    def __init__(self, process: subprocess.Popen, log_path: Path) -> None:
        self.process, self.log_path = process, log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@pytest.fixture
def beat_queue() -> Iterator[str]:
    name = f"beat-{uuid.uuid4().hex[:10]}"
    yield name
    redis.Redis.from_url(settings.REDIS_URL).delete(name)


@pytest.fixture
def start_beat(transactional_db: Any, beat_queue: str, tmp_path: Path) -> Iterator[Callable[[str], Beat]]:
    started: list[Beat] = []

    def start(name: str) -> Beat:
        log_path = tmp_path / f"beat-{name}.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "campaign", "beat", "--loglevel=INFO", "--max-interval=1"],
            cwd=REPO_ROOT,
            env=_worker_env({"CELERY_TASK_DEFAULT_QUEUE": beat_queue}),
            stdout=open(log_path, "wb"),  # noqa: SIM115 - closed with the process
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        beat = Beat(process, log_path)
        started.append(beat)
        return beat

    yield start
    for beat in started:
        beat.kill()


def sent(queue: str) -> Counter[str]:
    """How often each periodic task was sent, from the messages waiting in the queue."""
    messages = redis.Redis.from_url(settings.REDIS_URL).lrange(queue, 0, -1)
    return Counter(json.loads(m)["headers"]["periodic_task_name"] for m in messages)


def one_off(name: str, at: Any) -> PeriodicTask:
    clocked = ClockedSchedule.objects.create(clocked_time=at)
    return PeriodicTask.objects.create(name=name, task=TASK, clocked=clocked, one_off=True)


def test_two_beats_send_each_task_once_and_the_second_takes_over(start_beat, beat_queue):
    soon = timezone.now() + timedelta(seconds=3)
    for index in range(3):
        one_off(f"once-{index}", soon)

    first, second = start_beat("a"), start_beat("b")
    wait_until(lambda: sum(sent(beat_queue).values()) >= 3, timeout=60)
    leader, follower = (first, second) if "holds the beat lock" in first.log() else (second, first)
    assert "holds the beat lock" in leader.log()
    assert "holds the beat lock" not in follower.log()

    # Each run is recorded right after it was sent (a beat killed in between would have that
    # one task sent again by the next beat: at least once, and the tasks are idempotent).
    wait_until(lambda: PeriodicTask.objects.filter(name__startswith="once-", total_run_count=0).count() == 0)
    leader.kill()  # a crash: the lock goes with its database session
    wait_until(lambda: "holds the beat lock" in follower.log(), timeout=60)
    one_off("after-takeover", timezone.now())
    wait_until(lambda: sent(beat_queue)["after-takeover"] >= 1, timeout=60)
    wait_until(lambda: "after-takeover" in follower.log(), timeout=30)

    assert sent(beat_queue) == {"once-0": 1, "once-1": 1, "once-2": 1, "after-takeover": 1}


def test_a_daily_run_missed_while_beat_was_down_is_sent_at_its_start(start_beat, beat_queue):
    nightly = CrontabSchedule.objects.create(minute="17", hour="3", timezone="Europe/Berlin")
    missed = PeriodicTask.objects.create(
        name="missed", task=TASK, crontab=nightly, last_run_at=timezone.now() - timedelta(days=2)
    )
    PeriodicTask.objects.create(name="ran-today", task=TASK, crontab=nightly, last_run_at=timezone.now())

    beat = start_beat("a")
    wait_until(lambda: sent(beat_queue)["missed"] == 1, timeout=60)
    wait_until(
        lambda: PeriodicTask.objects.get(pk=missed.pk).last_run_at > timezone.now() - timedelta(hours=1)
    )
    beat.kill()

    assert sent(beat_queue) == {"missed": 1}


def test_the_daily_and_hourly_tasks_run_at_wall_clock_times_in_berlin():
    from celery.schedules import crontab

    from campaign import settings as production
    from campaign.celery import app

    assert app.conf.timezone == "Europe/Berlin"
    assert production.CELERY_BEAT_SCHEDULE  # the tests' settings empty it; the real one is used
    for name, entry in production.CELERY_BEAT_SCHEDULE.items():
        if not isinstance(entry["schedule"], crontab):
            assert entry["schedule"] < 3600, f"{name} runs on an interval counted from beat's start"
