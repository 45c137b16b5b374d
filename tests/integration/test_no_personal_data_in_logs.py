"""No personal data in the logs of web, worker and beat, at DEBUG.

A real gunicorn (the compose file's access log format), a real Celery worker and a real beat
(django-celery-beat, every periodic task of the production schedule) run with LOG_LEVEL=DEBUG
and LOG_FORMAT=json, each writing its whole output (stdout and stderr) to a file. Every flow is
driven over HTTP against the web process, the client address coming through X-Forwarded-For
from a trusted proxy (NUM_PROXIES=1): signing, confirming and withdrawing by the mailed links, a
reminder, a card gift with a receipt address on localstripe (its webhooks delivered live, signed
as Stripe signs them) and a hand-signed Stripe event, the donor's manage link, a supporter update
with its one-click unsubscribe, a bounce, the CRM hand-over (one failed delivery, then retried),
a person's access and erasure requests, a staff erasure, and the error cases (bad input, unknown
tokens, bad signatures). Then no line of any of the three outputs may hold an e-mail address, a
name, an IP address, a postcode or a street of the test data.

The three processes use a queue of their own. A worker of the rest of the run on the same
database could still claim one of this test's outbox rows in its batch (and log about it
elsewhere); none runs a task meanwhile, since tests run one after another.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
import yaml
from django.conf import settings
from django.utils import timezone

from campaign.crm.models import CrmDelivery
from campaign.models import OutgoingEmail
from donations.models import Donation, StripeEvent
from petitions.models import PetitionUpdate, Signature
from tests.conftest import REPO_ROOT, _worker_env, free_port, staff_user_create, wait_until
from tests.fixtures.localstripe import stripe_event, stripe_signature
from tests.fixtures.petitions import PetitionFactory, mail_link_token, sign_payload
from tests.outages import Gunicorn
from tests.processes import die_with_parent

pytestmark = pytest.mark.integration

# Generous: three processes and the rest of the machine share two cores.
WAIT = 120
STRIPE_SECRET = "whsec_no_personal_data_in_logs"
MAIL_SECRET = "mail-events-secret-for-the-log-test"
CRM_SECRET = "crm-secret-for-the-log-test-0123456789"
# How often beat sends each periodic task during the test.
BEAT_EVERY_SECONDS = 10


@dataclass(frozen=True)
class Person:
    first_name: str
    last_name: str
    email: str
    postcode: str
    ip: str

    @property
    def needles(self) -> list[str]:
        return [self.first_name, self.last_name, self.email, self.email.split("@")[0], self.postcode, self.ip]


# Distinctive values that nothing else in a log line could produce: postcodes with a leading
# zero (no process id, port or duration is printed that way), documentation IP ranges, names
# with characters JSON escapes.
SIGNER = Person("Quirina", "Protokollhuber", "quirina.protokollhuber@example.org", "01067", "203.0.113.71")
WITHDRAWER = Person("Zoë", "Überströmer", "zoe.ueberstroemer@example.net", "04109", "2001:db8:4c::17")
SILENT = Person("Ottokar", "Silentiumsen", "ottokar.silentiumsen@example.com", "06108", "198.51.100.23")
DONOR = Person("Friedegund", "Spendabelmann", "friedegund.spendabel@example.org", "09111", "203.0.113.205")
DONOR_STREET = "Verschwiegenheitsweg 17"
UNKNOWN_EMAIL = "niemand.bekannt.hier@example.org"
PEOPLE = (SIGNER, WITHDRAWER, SILENT, DONOR)


def needles() -> list[str]:
    found = [needle for person in PEOPLE for needle in person.needles]
    # An IPv6 address may be written out in full as well.
    found += [ipaddress.ip_address(p.ip).exploded for p in PEOPLE if ":" in p.ip]
    return [*found, DONOR_STREET, UNKNOWN_EMAIL, UNKNOWN_EMAIL.split("@")[0]]


def _pattern(needle: str) -> re.Pattern[str]:
    # Whole values only (`01067` is not part of `201067`); case does not hide a value.
    return re.compile(rf"(?<![0-9a-z]){re.escape(needle.casefold())}(?![0-9a-z])")


def personal_data_in(output: str, values: list[str]) -> list[tuple[str, str]]:
    """(value, line) for each line of a process's output that holds one of `values`. A JSON
    line is read decoded as well, so that an escaped `\\u00fc` cannot hide a name."""
    patterns = [(value, _pattern(value)) for value in values]
    hits = []
    for line in output.splitlines():
        views = [line]
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                views.append(json.dumps(json.loads(line), ensure_ascii=False))
        text = "\n".join(views).casefold()
        hits += [(value, line) for value, pattern in patterns if pattern.search(text)]
    return hits


def debug_lines(output: str) -> int:
    count = 0
    for line in output.splitlines():
        with contextlib.suppress(ValueError):
            count += line.startswith("{") and json.loads(line).get("level") == "DEBUG"
    return count


# --- the processes ---------------------------------------------------------------------------


class Beat:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "campaign",
                "beat",
                "--loglevel=DEBUG",
                "--max-interval=1",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=open(log_path, "wb"),  # noqa: SIM115 - closed with the process
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def sent_task_ids(self) -> set[str]:
        return set(re.findall(r"sent\. id->([0-9a-f-]{36})", self.log()))

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


class CrmReceiver:
    """The organisation's CRM: refuses the first delivery (the worker retries), takes the rest."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.refused = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    if receiver.refused == 0:
                        receiver.refused += 1
                        code = 500
                    else:
                        receiver.events.append(json.loads(body)["event"])
                        code = 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/campaign"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _compose_access_log_format() -> str:
    """The access log format the compose file's web service runs gunicorn with."""
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    command = shlex.split(compose["services"]["web"]["command"])
    return command[command.index("--access-logformat") + 1]


@dataclass
class Stack:
    web: Gunicorn
    worker: Any
    beat: Beat
    crm: CrmReceiver
    queue: str

    def outputs(self) -> dict[str, str]:
        return {"web": self.web.log(), "worker": self.worker.log(), "beat": self.beat.log()}


@pytest.fixture
def stack(
    transactional_db: Any, start_worker: Any, smtp_server: Any, localstripe: Any, tmp_path: Path
) -> Iterator[Stack]:
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from campaign import settings as production

    queue = f"nopd-{uuid.uuid4().hex[:10]}"
    port = free_port()
    crm = CrmReceiver()
    env = _worker_env(
        {
            **smtp_server.env,
            "LOG_LEVEL": "DEBUG",
            "LOG_FORMAT": "json",
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "CRM_WEBHOOK_QUEUE": queue,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "NUM_PROXIES": "1",
            "STRIPE_WEBHOOK_SECRET": STRIPE_SECRET,
            "MAIL_WEBHOOK_SECRET": MAIL_SECRET,
            "CRM_WEBHOOK_URL": crm.url,
            "CRM_WEBHOOK_SECRET": CRM_SECRET,
            "CRM_WEBHOOK_BACKOFF_SECONDS": "1",
            "PETITIONS_REMINDER_ENABLED": "true",
            "PETITIONS_REMINDER_AFTER_HOURS": "0",
            "PETITIONS_UPDATE_BATCH_INTERVAL_SECONDS": "1",
        }
    )
    # Beat sends every task of the production schedule, often (the test settings have none).
    every, _ = IntervalSchedule.objects.get_or_create(
        every=BEAT_EVERY_SECONDS, period=IntervalSchedule.SECONDS
    )
    for name, entry in production.CELERY_BEAT_SCHEDULE.items():
        PeriodicTask.objects.create(name=name, task=entry["task"], interval=every)

    web = Gunicorn(
        port=port,
        env=env,
        log_path=tmp_path / "web.log",
        workers=2,
        extra_args=["--log-level", "debug", "--access-logformat", _compose_access_log_format()],
    )
    worker = beat = None
    try:
        web.start()
        worker = start_worker(env=env, name="nopd", queues=queue, loglevel="DEBUG")
        beat = Beat(env, tmp_path / "beat.log")
        localstripe.webhook_register("nopd", f"{web.url}/api/v1/stripe/webhook/", STRIPE_SECRET)
        yield Stack(web=web, worker=worker, beat=beat, crm=crm, queue=queue)
    finally:
        if beat is not None:
            beat.stop()
        if worker is not None:
            worker.stop()
        web.stop()
        crm.close()
        redis.Redis.from_url(settings.REDIS_URL).delete(queue)


# --- HTTP as the supporter's browser, behind the proxy ---------------------------------------


class Browser:
    def __init__(self, base: str, ip: str) -> None:
        self.base, self.session = base, requests.Session()
        # The proxy in front of the web service appends the client's address.
        self.session.headers["X-Forwarded-For"] = ip

    def post(self, path: str, payload: Any = None, **kwargs: Any) -> requests.Response:
        if payload is not None:
            kwargs["json"] = payload
        return self.session.post(self.base + path, timeout=WAIT, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.base + path, timeout=WAIT, **kwargs)


def _link(smtp_server: Any, person: Person, path: str, after: int) -> str:
    """The path and query of the `path` link in the first mail to `person` after their first
    `after` mails that holds one (a reminder may come in between)."""

    def found() -> str | None:
        for message in smtp_server.to(person.email)[after:]:
            body = message.get_body(preferencelist=("plain",)).get_content()
            match = re.search(rf"https?://[^/\s]+({re.escape(path)}\?[^\s<>\"]+)", body)
            if match:
                return match.group(1)
        return None

    return wait_until(found, timeout=WAIT)


def _drained() -> bool:
    return not (
        OutgoingEmail.objects.filter(status__in=["queued", "inflight"]).exists()
        or CrmDelivery.objects.filter(status__in=["pending", "inflight"]).exists()
        or StripeEvent.objects.filter(status__in=["received", "processing"]).exists()
    )


def _sign(browser: Browser, slug: str, person: Person, **extra: Any) -> None:
    answer = browser.post(
        f"/api/v1/petitions/{slug}/signatures/",
        sign_payload(
            first_name=person.first_name,
            last_name=person.last_name,
            email=person.email,
            postcode=person.postcode,
            city="Sachsen",
            **extra,
        ),
    )
    assert answer.status_code == 202, answer.text


def _mails(smtp_server: Any, person: Person, count: int = 1) -> list[Any]:
    return smtp_server.wait_for(person.email, count=count, timeout=WAIT)


def run_every_flow(stack: Stack, smtp_server: Any, localstripe: Any, django_user_model: Any) -> None:
    from campaign.staff_tokens import staff_token_create

    base = stack.web.url
    petition = PetitionFactory()
    slug = petition.slug
    signer, withdrawer, silent, donor = (Browser(base, p.ip) for p in PEOPLE)

    # Sign (with consent to updates and the newsletter), confirm by the mailed link.
    _sign(signer, slug, SIGNER, updates_consent=True, newsletter_consent=True)
    token = mail_link_token(_mails(smtp_server, SIGNER)[-1], "confirm")
    assert signer.get(f"/signatures/confirm/?token={token}").status_code == 200
    assert signer.post("/api/v1/signatures/confirm/", {"token": token}).json()["status"] == "confirmed"

    # Sign, confirm, withdraw by the link of the confirmation mail.
    _sign(withdrawer, slug, WITHDRAWER, locale="en")
    mail = _mails(smtp_server, WITHDRAWER)[-1]
    assert withdrawer.post("/api/v1/signatures/confirm/", {"token": mail_link_token(mail, "confirm")}).ok
    withdrawn = withdrawer.post("/api/v1/signatures/withdraw/", {"token": mail_link_token(mail, "withdraw")})
    assert withdrawn.status_code == 200, withdrawn.text

    # Sign and never confirm: beat's reminder task mails once more.
    _sign(silent, slug, SILENT)
    _mails(smtp_server, SILENT, count=2)

    # The postcode lookup (the postcode is in the query string; no regions are loaded here).
    assert signer.get(f"/api/v1/regions/lookup/?country=DE&postcode={SIGNER.postcode}").status_code == 404

    # A card gift with a receipt address; localstripe posts its webhooks to the web process.
    started = donor.post(
        "/api/v1/donations/",
        {
            "campaign": petition.campaign.slug,
            "amount": 2500,
            "currency": "eur",
            "interval": "once",
            "payment_method": "card",
            "first_name": DONOR.first_name,
            "last_name": DONOR.last_name,
            "email": DONOR.email,
            "wants_receipt": True,
            "street": DONOR_STREET,
            "postcode": DONOR.postcode,
            "city": "Chemnitz",
            "country": "DE",
            "newsletter_consent": False,
        },
    )
    assert started.status_code == 201, started.text
    gift = started.json()
    localstripe.save_card(gift["client_secret"])
    assert donor.post(f"/api/v1/donations/{gift['id']}/complete/").json()["status"] == "succeeded"
    assert donor.get(f"/api/v1/donations/{gift['id']}/").ok
    _mails(smtp_server, DONOR, count=2)  # thank-you and receipt
    wait_until(lambda: StripeEvent.objects.filter(type="payment_intent.succeeded").exists(), timeout=WAIT)
    assert donor.post("/api/v1/donations/manage-link/", {"email": DONOR.email}).status_code == 202
    _mails(smtp_server, DONOR, count=3)

    # A Stripe event signed as Stripe signs it, full of the donor's data, and a forged one.
    customer = {
        "id": f"cus_{uuid.uuid4().hex[:14]}",
        "object": "customer",
        "email": DONOR.email,
        "name": f"{DONOR.first_name} {DONOR.last_name}",
        "address": {"line1": DONOR_STREET, "postal_code": DONOR.postcode, "city": "Chemnitz"},
    }
    payload = stripe_event("customer.updated", customer)
    hook = "/api/v1/stripe/webhook/"
    signed = {
        "Stripe-Signature": stripe_signature(payload, STRIPE_SECRET),
        "Content-Type": "application/json",
    }
    assert donor.post(hook, data=payload, headers=signed).status_code == 200
    forged = {
        "Stripe-Signature": stripe_signature(payload, "whsec_wrong"),
        "Content-Type": "application/json",
    }
    assert donor.post(hook, data=payload, headers=forged).status_code == 400

    # A supporter update; the signer unsubscribes by the one-click link.
    user = staff_user_create(django_user_model, "dpo-logs", "privacy officer", "organiser")
    _, key = staff_token_create(user=user, name="log test")
    staff = Browser(base, "192.0.2.10")
    staff.session.headers["Authorization"] = f"Token {key}"
    text = {
        "subject": "Neuigkeiten",
        "body_text": "Es geht voran.",
        "subject_en": "News",
        "body_text_en": "On.",
    }
    assert staff.post(f"/api/v1/staff/petitions/{slug}/updates/", {**text, "send": False}).ok
    update = staff.post(f"/api/v1/staff/petitions/{slug}/updates/", {**text, "send": True})
    assert update.status_code == 202, update.text
    wait_until(
        lambda: PetitionUpdate.objects.get(pk=update.json()["id"]).status == PetitionUpdate.Status.SENT,
        timeout=WAIT,
    )
    update_mail = wait_until(
        lambda: [m for m in smtp_server.to(SIGNER.email) if m["List-Unsubscribe"]], timeout=WAIT
    )[-1]
    unsubscribe = re.search(
        r"<https?://[^/>]+(/unsubscribe/\?t=[^>]+)>", update_mail["List-Unsubscribe"]
    ).group(1)
    assert signer.get(unsubscribe).status_code == 200
    one_click = signer.post(
        unsubscribe,
        data="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert one_click.status_code == 200

    # The mail provider reports a hard bounce of the silent signer's address.
    body = json.dumps({"events": [{"type": "hard_bounce", "email": SILENT.email}]}).encode()
    mac = "sha256=" + hmac.new(MAIL_SECRET.encode(), body, hashlib.sha256).hexdigest()
    bounce_headers = {"Content-Type": "application/json"}
    assert silent.post(
        "/api/v1/mail/events/", data=body, headers={**bounce_headers, "X-Mail-Events-Signature": mac}
    ).ok
    refused = silent.post(
        "/api/v1/mail/events/", data=body, headers={**bounce_headers, "X-Mail-Events-Signature": "sha256=0"}
    )
    assert refused.status_code in (400, 401, 403)

    # The signer asks what is held about them, then for its erasure; an unknown address asks too.
    for kind, page in (("access", "/privacy/export/"), ("erasure", None)):
        before = len(smtp_server.to(SIGNER.email))
        asked = signer.post("/api/v1/privacy/requests/", {"email": SIGNER.email, "kind": kind})
        assert asked.status_code == 202, asked.text
        confirm = _link(smtp_server, SIGNER, "/privacy/confirm/", after=before)
        assert signer.get(confirm).status_code == 200
        assert signer.post(confirm).status_code == 200
        if page:
            export = _link(smtp_server, SIGNER, page, after=before)
            assert signer.get(export).status_code == 200
            assert signer.get(export + "&format=json").status_code == 200
    assert (
        silent.post("/api/v1/privacy/requests/", {"email": UNKNOWN_EMAIL, "kind": "access"}).status_code
        == 202
    )

    # Staff erase the donor (the Stripe customer too).
    erased = staff.post("/api/v1/staff/privacy/erasures/", {"email": DONOR.email})
    assert erased.status_code in (200, 201), erased.text

    # Errors: bad input, unknown tokens, a path holding an address.
    bad_sign = sign_payload(
        first_name=WITHDRAWER.first_name, last_name=WITHDRAWER.last_name, email=f"{WITHDRAWER.email}@@"
    )
    assert withdrawer.post(f"/api/v1/petitions/{slug}/signatures/", bad_sign).status_code == 400
    bad_postcode = sign_payload(email=WITHDRAWER.email, postcode=WITHDRAWER.postcode + "X", country="DE")
    assert withdrawer.post(f"/api/v1/petitions/{slug}/signatures/", bad_postcode).status_code == 400
    assert (
        withdrawer.post(
            f"/api/v1/petitions/{slug}/signatures/", data=b"{not json", headers=bounce_headers
        ).status_code
        == 400
    )
    assert withdrawer.get(f"/api/v1/petitions/{WITHDRAWER.email}/").status_code == 404
    assert (
        withdrawer.get(f"/api/v1/regions/lookup/?country=DE&postcode={WITHDRAWER.postcode}X").status_code
        == 400
    )
    for action in ("confirm", "withdraw"):
        assert withdrawer.post(f"/api/v1/signatures/{action}/", {"token": "x" * 43}).status_code in (400, 404)
    assert withdrawer.get("/unsubscribe/?t=not-a-token").status_code == 400
    assert withdrawer.get("/privacy/export/?token=not-a-token").status_code in (400, 404, 410)
    assert (
        withdrawer.post(
            "/api/v1/privacy/requests/", {"email": WITHDRAWER.email, "kind": "everything"}
        ).status_code
        == 400
    )
    assert staff.post("/api/v1/staff/privacy/erasures/", {"email": WITHDRAWER.first_name}).status_code == 400
    bad_gift = donor.post(
        "/api/v1/donations/",
        {"campaign": petition.campaign.slug, "email": DONOR.email, "first_name": DONOR.first_name},
    )
    assert bad_gift.status_code == 400

    # Every mail, CRM delivery and Stripe event done; the CRM got each kind of event.
    wait_until(_drained, timeout=WAIT)
    wait_until(lambda: {"subscribe", "unsubscribe", "erasure"} <= set(stack.crm.events), timeout=WAIT)
    assert Signature.objects.filter(status=Signature.Status.WITHDRAWN).count() == 1
    assert Donation.objects.filter(status="succeeded").count() == 1


def finish_beat_round(stack: Stack) -> None:
    """Each periodic task runs once more after every flow, then beat stops and the worker
    finishes every task beat sent."""
    from django_celery_beat.models import PeriodicTask

    flows_done: datetime = timezone.now()
    wait_until(
        lambda: (
            not PeriodicTask.objects.filter(interval__isnull=False)
            .exclude(last_run_at__gt=flows_done)
            .exists()
        ),
        timeout=WAIT,
    )
    stack.beat.stop()
    sent = stack.beat.sent_task_ids()
    assert sent

    def unfinished() -> set[str]:
        log = stack.worker.log()
        return {task_id for task_id in sent if not re.search(rf"\[{task_id}\] (?!received)", log)}

    wait_until(lambda: not unfinished(), timeout=WAIT, interval=0.5)
    wait_until(_drained, timeout=WAIT)


def test_no_flow_logs_an_address_a_name_an_ip_or_a_postcode_at_debug(
    stack, smtp_server, localstripe, django_user_model
):
    run_every_flow(stack, smtp_server, localstripe, django_user_model)
    finish_beat_round(stack)
    stack.worker.stop()
    stack.web.stop()

    outputs = stack.outputs()
    for name, output in outputs.items():
        # Each process did log at DEBUG: the level took effect, so the check below means something.
        assert debug_lines(output) > 0, f"{name} logged nothing at DEBUG"
    leaks = [
        f"{name}: {value!r} in {line[:400]}"
        for name, output in outputs.items()
        for value, line in personal_data_in(output, needles())
    ]
    assert not leaks, "\n".join(leaks)


def test_the_scanner_finds_personal_data_written_through_the_same_logging_config(transactional_db, tmp_path):
    """The check above can fail: names and a postcode logged at DEBUG through the project's
    logging config (no filter can know a name), and an address and an IP address printed to
    stderr, are all found in the captured output."""
    env = _worker_env({"LOG_LEVEL": "DEBUG", "LOG_FORMAT": "json"})
    script = (
        "import django, logging, sys; django.setup(); "
        "logging.getLogger('petitions.signing').debug('signed by %s %s in %s', *sys.argv[1:4]); "
        "print(sys.argv[4], sys.argv[5], file=sys.stderr)"
    )
    person = WITHDRAWER
    log_path = tmp_path / "leaky.log"
    with open(log_path, "wb") as log:
        subprocess.run(
            [
                sys.executable,
                "-c",
                script,
                person.first_name,
                person.last_name,
                person.postcode,
                person.email,
                person.ip,
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=120,
        )
    output = log_path.read_text()

    assert debug_lines(output) == 1
    found = {value for value, _ in personal_data_in(output, needles())}
    assert found >= {person.first_name, person.last_name, person.postcode, person.email, person.ip}
    assert not {value for value, _ in personal_data_in(output, SIGNER.needles)}
