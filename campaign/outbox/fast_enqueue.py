"""A lean `.delay()` for the request path: one LPUSH of the message Celery would publish.

Celery's `.delay()` spends most of its time in kombu's publish machinery (producer pool,
retry wrappers, signals, the channel's envelope), about ten times a raw Redis LPUSH, and
the signing endpoint enqueues a confirmation mail on every request. `task_enqueue` builds the
task message with Celery's own `create_task_message` (protocol 2), wraps it in kombu's Redis
envelope and pushes it onto the queue's list, which is what kombu's Redis transport does for
the default exchange. Anything else (eager mode, another broker, task routes, a key prefix,
a call from inside a worker task, where Celery links parent and root ids) goes through
`.apply_async()`. tests/campaign/test_enqueue.py compares both messages field by field.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from typing import Any

from kombu.serialization import dumps

_local = threading.local()


def _redis_client(app: Any) -> Any:
    url = app.conf.broker_url
    clients = getattr(_local, "clients", None)
    if clients is None:
        clients = _local.clients = {}
    client = clients.get(url)
    if client is None:
        import redis

        options = app.conf.broker_transport_options or {}
        client = redis.Redis.from_url(
            url,
            # As quick to give up as the Celery publish it replaces: with Redis down the request
            # still answers; the outbox sweeper enqueues later.
            socket_connect_timeout=options.get("socket_connect_timeout", 1),
            socket_timeout=options.get("socket_timeout", 5),
        )
        clients[url] = client
    return client


def _fast_path_possible(app: Any) -> bool:
    conf = app.conf
    return (
        not conf.task_always_eager
        and str(conf.broker_url or "").startswith(("redis://", "rediss://"))
        and not conf.task_routes
        and not (conf.broker_transport_options or {}).get("global_keyprefix")
        and app.current_worker_task is None
    )


def task_message_build(task: Any, args: tuple, kwargs: dict) -> tuple[str, bytes]:
    """(queue, the JSON kombu's Redis transport would LPUSH) for `task.apply_async(args,
    kwargs)` on the default queue."""
    app = task.app
    task_id = str(uuid.uuid4())
    options = {k: v for k, v in (task._get_exec_options() or {}).items() if v is not None}
    queue = app.conf.task_default_queue
    message = app.amqp.create_task_message(
        task_id,
        task.name,
        args,
        kwargs,
        reply_to=app.thread_oid,
        time_limit=options.get("time_limit"),
        soft_time_limit=options.get("soft_time_limit"),
        create_sent_event=app.conf.task_send_sent_event,
        ignore_result=options.get("ignore_result", app.conf.task_ignore_result),
    )
    content_type, content_encoding, serialized = dumps(message.body, serializer=app.conf.task_serializer)
    # kombu's stub says `str`, but binary serializers (pickle, msgpack) return bytes.
    body: str | bytes = serialized
    if isinstance(body, str):
        body = body.encode(content_encoding)
    envelope = {
        "body": base64.b64encode(body).decode(),
        "content-encoding": content_encoding,
        "content-type": content_type,
        "headers": message.headers,
        "properties": {
            **message.properties,
            "delivery_mode": 2,  # persistent
            "delivery_info": {"exchange": "", "routing_key": queue},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": str(uuid.uuid4()),
        },
    }
    return queue, json.dumps(envelope).encode()


def task_enqueue(task: Any, *args: Any, **kwargs: Any) -> None:
    """`task.delay(*args, **kwargs)`, with one Redis round trip when possible."""
    app = task.app
    if not _fast_path_possible(app):
        task.apply_async(args, kwargs)
        return
    queue, payload = task_message_build(task, args, kwargs)
    _redis_client(app).lpush(queue, payload)
