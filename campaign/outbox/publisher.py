"""Hands outbox rows to the broker from a background thread, so a hot request (the signing)
does not wait for Redis. Part of the outbox: `outgoing_email_publish(..., background=True)` uses it.

The outbox row is committed before anything is handed over, so this changes only *when* the
worker hears of it, never *whether*: a hand-over that fails (Redis down), is dropped (queue
full) or dies with its process (a deploy, a crash) leaves the row queued, and the outbox
sweeper enqueues it after OUTBOX_REQUEUE_AFTER_SECONDS. Each process starts its own thread
on first use (after a fork, too). The server must run Python threads (gunicorn does; uWSGI
needs `enable-threads`). In the embedded default (tasks run in-process) the mail is sent
right after commit, as before.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from functools import partial

from django.conf import settings
from django.db import transaction

from campaign.outbox.fast_enqueue import task_enqueue

logger = logging.getLogger(__name__)

QUEUE_MAX = 10_000
# How long the thread waits for more rows after the first before it publishes: at busy times
# (each signing hands over one row) several rows then share one message, one LPUSH and one
# task for the worker; a mail goes out at most this much later.
LINGER_SECONDS = 0.05

_lock = threading.Lock()
_queue: queue.Queue[int] | None = None
_thread: threading.Thread | None = None
_pid: int | None = None


def _publish_forever(pending: queue.Queue[int]) -> None:
    # Imported here: the task module is loaded after the apps, the publisher before.
    from campaign.tasks import outgoing_email_send_task, outgoing_emails_send_task

    while True:
        ids = [pending.get()]
        # What else is waiting or arrives within LINGER_SECONDS goes in the same message: one
        # task for the lot instead of one per row, each of which would cost this process a
        # message build and a Redis round trip, and the worker a message and a claim. The
        # thread sleeps meanwhile instead of waking for each row handed over.
        time.sleep(LINGER_SECONDS)
        while len(ids) < max(settings.OUTBOX_BATCH_SIZE, 1):
            try:
                ids.append(pending.get_nowait())
            except queue.Empty:
                break
        try:
            if len(ids) == 1:
                task_enqueue(outgoing_email_send_task, ids[0])
            else:
                task_enqueue(outgoing_emails_send_task, ids)
        except BaseException as exc:  # noqa: BLE001 - whatever it was, the sweeper sends the rows later
            logger.warning(
                "enqueue of outgoing emails %s failed (%s); the outbox sweeper will send them",
                ids,
                type(exc).__name__,
            )
        finally:
            for _ in ids:
                pending.task_done()


def _pending_queue() -> queue.Queue[int]:
    """This process's hand-over queue, with a live publisher thread (started on first use, and
    again after a fork or should the thread ever have died)."""
    global _queue, _thread, _pid
    pid = os.getpid()
    if _queue is None or _pid != pid or _thread is None or not _thread.is_alive():
        with _lock:
            if _queue is None or _pid != pid:
                _queue, _thread, _pid = queue.Queue(maxsize=QUEUE_MAX), None, pid
            if _thread is None or not _thread.is_alive():
                _thread = threading.Thread(
                    target=_publish_forever, args=(_queue,), name="outbox-publisher", daemon=True
                )
                _thread.start()
    return _queue


def _hand_over(outgoing_email_id: int) -> None:
    try:
        _pending_queue().put_nowait(outgoing_email_id)
    except queue.Full:
        logger.warning(
            "outbox publisher queue full; outgoing email %s waits for the sweeper", outgoing_email_id
        )


def publish_in_background(outgoing_email_id: int) -> None:
    """Hands the row to this process's publisher thread once the current transaction commits."""
    transaction.on_commit(partial(_hand_over, outgoing_email_id), robust=True)


def publisher_flush(timeout: float = 10.0) -> bool:
    """Waits until every handed-over row was published (or failed). True when done."""
    pending = _queue if _pid == os.getpid() else None
    if pending is None:
        return True
    deadline = time.monotonic() + timeout
    while pending.unfinished_tasks:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


# A clean shutdown publishes what is still waiting (briefly; the sweeper covers the rest).
atexit.register(publisher_flush, 2.0)
