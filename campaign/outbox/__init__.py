"""The outbox: every outgoing mail is a row written in the same transaction as the change
that causes it, handed to a Celery worker after commit, claimed once, sent, and swept when the
broker or a worker failed.

- `queueing`: `outgoing_email_queue` (the one way to queue a mail), `outgoing_email_publish`,
  and `outgoing_email_insert_sql` for a one-statement write;
- `sending`: claim, render, deliver, record (`outgoing_email_send`);
- `sweeping`: `outgoing_email_sweep`, the beat task's work;
- `publisher`: the background hand-over thread; `fast_enqueue`: a one-LPUSH `.delay()`.

The Celery tasks are in `campaign.tasks`.
"""
