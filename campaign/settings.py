"""Settings for the campaign backend: one module, every knob from the environment.

Defaults are safe for a local run (SQLite, tasks in-process, mails on the console, the local
Stripe stand-in). With DEBUG=False the production secrets are required and the process refuses
to start without them.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import overload
from urllib.parse import unquote, urlparse

import dj_database_url
from celery.schedules import crontab as _crontab
from django.core.exceptions import ImproperlyConfigured

from campaign.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent


@overload
def env_str(name: str, default: str) -> str: ...
@overload
def env_str(name: str, default: None = None) -> str | None: ...
def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = os.environ.get(name)
    if value is None or value == "":
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def ip_ranges_check(name: str, values: list[str]) -> list[str]:
    """CIDR ranges (or single addresses) of a list setting, refusing to start on a bad one."""
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {value!r} is not an IP address or CIDR range") from None
    return values


def lines_read(path: Path) -> list[str]:
    """The entries of a vendored list: one a line, `#` starts a comment."""
    entries = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [entry for entry in entries if entry]


def require(name: str, value: str | None) -> str:
    if not value:
        raise ImproperlyConfigured(f"{name} must be set when DEBUG is false (production).")
    return value


DEBUG = env_bool("DEBUG", True)

_DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production-0123456789"  # noqa: S105
SECRET_KEY = env_str("SECRET_KEY") or (_DEV_SECRET_KEY if DEBUG else require("SECRET_KEY", None))
# Earlier keys, still accepted for what they signed (one-click unsubscribe links never expire),
# so SECRET_KEY can be rotated without breaking the links in mails already sent.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")
# A separate key for hashing IP addresses and tokens, so rotating SECRET_KEY (sessions) does not
# change stored hashes.
HASH_SECRET = env_str("HASH_SECRET", SECRET_KEY)
# The key of the privacy records: keyed hashes of erased and suppressed addresses, and the seal
# of what tax law makes us keep after an erasure (campaign/privacy/). Losing it loses the sealed
# receipt copies, so it is kept like the other production secrets.
PRIVACY_SECRET = env_str("PRIVACY_SECRET", HASH_SECRET)
# Requests by the person (access, erasure): how many a day per address are acted upon, how long
# the confirmation link and the access export link are valid.
PRIVACY_REQUESTS_PER_ADDRESS_PER_DAY = env_int("PRIVACY_REQUESTS_PER_ADDRESS_PER_DAY", 3)
PRIVACY_REQUEST_CONFIRM_DAYS = env_int("PRIVACY_REQUEST_CONFIRM_DAYS", 7)
PRIVACY_EXPORT_VALID_DAYS = env_int("PRIVACY_EXPORT_VALID_DAYS", 7)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    require("ALLOWED_HOSTS", None)

PUBLIC_BASE_URL = (env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000") or "").rstrip("/")
# The campaign the root page `/` shows; every public campaign also has its own /campaigns/<slug>/.
# Unset: the newest live campaign.
DEFAULT_CAMPAIGN_SLUG = env_str("DEFAULT_CAMPAIGN_SLUG", "") or ""

INSTALLED_APPS = [
    "campaign.admin_site.StaffAdminConfig",  # django.contrib.admin behind the second factor
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "anymail",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "corsheaders",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "campaign",
    "officials",
    "petitions",
    "donations",
    "pages",
    "devtools",
]

MIDDLEWARE = [
    # X-Request-ID in and out, and on every log line of the request.
    "campaign.logs.RequestIdMiddleware",
    # Request rate, latency and status per view (URL name) for /metrics (campaign/metrics.py).
    "campaign.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # The database down: 503 JSON with Retry-After (campaign/availability.py).
    "campaign.middleware.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # A NUL character in the path, the query or the body: 400 naming the field.
    "campaign.middleware.NulByteRejectMiddleware",
    # Session, auth and messages: Django's, but skipped on the public API (/api/v1/ except
    # /api/v1/staff/), which uses no cookies; see campaign/middleware.py.
    "campaign.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # READ_ONLY_MODE: writes answer 503 with a message in German or English (campaign/switches.py).
    "campaign.switches.ReadOnlyModeMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "campaign.middleware.AuthenticationMiddleware",
    # Marks a session verified with the second factor (request.user.is_verified()).
    "django_otp.middleware.OTPMiddleware",
    # The hashed client address for the audit entries the request writes.
    "campaign.audit.AuditContextMiddleware",
    "campaign.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "campaign.urls"

# Operator switches (campaign/switches.py), shown on /healthz and /readyz.
READ_ONLY_MODE = env_bool("READ_ONLY_MODE", False)
DONATIONS_PAUSED = env_bool("DONATIONS_PAUSED", False)

# /metrics (Prometheus) answers only a bearer token or a peer address in the allow-list; with
# neither set it answers 404 to everyone. docs/operations.md.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
METRICS_ALLOWED_CIDRS = env_list("METRICS_ALLOWED_CIDRS")
# The Celery worker's own counters (mails, task failures) on this port, internal network only.
METRICS_WORKER_PORT = env_int("METRICS_WORKER_PORT", 0)
for _cidr in METRICS_ALLOWED_CIDRS:
    try:
        ipaddress.ip_network(_cidr, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_CIDRS: {_cidr!r} is not a network") from _exc
WSGI_APPLICATION = "campaign.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("CONN_MAX_AGE", 60))}
DATABASES["default"]["ATOMIC_REQUESTS"] = False  # services own their transactions
# A kept connection is checked before its first use in a request, so the first requests after
# a database restart do not fail on a dead connection.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # The database unreachable: give up connecting soon, so the 503 comes within seconds.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_int("DATABASE_CONNECT_TIMEOUT", 3)
# What a 503 asks clients to wait (Retry-After), and how long the public reads keep their last
# answer for when the database is down (campaign/availability.py).
RETRY_AFTER_SECONDS = env_int("RETRY_AFTER_SECONDS", 10)
STALE_IF_ERROR_SECONDS = env_int("STALE_IF_ERROR_SECONDS", 86400)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache and Celery broker ---------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "campaign"),
            # Short timeouts: when Redis is down, requests must not hang on it.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery (namespace CELERY_). Without REDIS_URL, tasks run in-process (after commit, since
# every enqueue goes through transaction.on_commit). Eager tasks still take a producer from the
# in-memory broker: it is named with a host, else kombu warns "No hostname was supplied".
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
# What the embedded default (no broker, no beat) needs instead, decided here once so that no
# service asks how tasks run: publish outbox rows on the committing thread (there is no broker
# to hand them to in the background), and run the counter pass right after a confirmation or
# withdrawal (no beat runs it).
OUTBOX_PUBLISH_IN_BACKGROUND = bool(REDIS_URL)
PETITION_COUNTS_AFTER_EACH_CHANGE = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# Crontab schedules are wall-clock times in Berlin (daylight saving time included).
CELERY_TIMEZONE = "Europe/Berlin"
# Beat keeps the schedule and each task's last run in PostgreSQL (django-celery-beat), sends a
# run missed while it was down at its next start, and only the beat holding the database lock
# sends (campaign/beat.py). Each sent task's last run is written at once.
CELERY_BEAT_SCHEDULER = "campaign.beat:SingleBeatScheduler"
CELERY_BEAT_SYNC_EVERY = 1
CELERY_RESULT_EXPIRES = None  # no result backend, so no cleanup task
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_PREFETCH_MULTIPLIER = env_int("CELERY_WORKER_PREFETCH_MULTIPLIER", 4)
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 1.0
# A publish with Redis down gives up after well under a second, so the request that enqueued
# (after commit, robust=True) still answers; the outbox sweeper sends the mail later.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.1,
    "interval_max": 0.1,
}
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": 1,
    "socket_timeout": 5,
}

# --- Outbox ---------------------------------------------------------------------------------
# Rows still queued after this long are enqueued again (the broker was down when they were
# written); rows in flight longer than the timeout belong to a dead worker.
OUTBOX_REQUEUE_AFTER_SECONDS = env_int("OUTBOX_REQUEUE_AFTER_SECONDS", 120)
OUTBOX_INFLIGHT_TIMEOUT_SECONDS = env_int("OUTBOX_INFLIGHT_TIMEOUT_SECONDS", 600)
OUTBOX_SWEEP_INTERVAL_SECONDS = env_int("OUTBOX_SWEEP_INTERVAL_SECONDS", 60)
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 8)
# Mails a worker claims and sends at once, over one SMTP connection (1: one at a time).
OUTBOX_BATCH_SIZE = env_int("OUTBOX_BATCH_SIZE", 50)

CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    # Re-enqueue mails the broker never got and mails whose worker died.
    "outbox-sweep": {
        "task": "campaign.outgoing_email_sweep",
        "schedule": float(OUTBOX_SWEEP_INTERVAL_SECONDS),
    },
    # Forget the sealed address of privacy requests never confirmed and of expired exports.
    "privacy-requests-expire": {
        "task": "campaign.privacy_requests_expire",
        "schedule": _crontab(minute=41),
    },
}

# --- CRM hand-over (campaign/crm/) ----------------------------------------------------------
# Newsletter subscribes, unsubscribes and erasures are POSTed as signed JSON to this URL; off
# when unset. The secret signs every request (HMAC-SHA256, see docs/privacy.md).
CRM_WEBHOOK_URL = env_str("CRM_WEBHOOK_URL", "")
CRM_WEBHOOK_SECRET = env_str("CRM_WEBHOOK_SECRET", "")
if CRM_WEBHOOK_URL and len(CRM_WEBHOOK_SECRET) < 16:
    raise ImproperlyConfigured("CRM_WEBHOOK_URL is set: CRM_WEBHOOK_SECRET must be at least 16 characters")
# A delivery that failed this many times is dead-lettered for staff to retry.
CRM_WEBHOOK_MAX_ATTEMPTS = env_int("CRM_WEBHOOK_MAX_ATTEMPTS", 8)
# The wait after the first failure (doubled after each further one, capped at half an hour).
CRM_WEBHOOK_BACKOFF_SECONDS = env_int("CRM_WEBHOOK_BACKOFF_SECONDS", 30)
CRM_WEBHOOK_TIMEOUT_SECONDS = env_int("CRM_WEBHOOK_TIMEOUT_SECONDS", 10)
# The Celery queue of the deliveries (a slow CRM then never holds up the mails).
CRM_WEBHOOK_QUEUE = env_str("CRM_WEBHOOK_QUEUE", CELERY_TASK_DEFAULT_QUEUE)

# --- Staff: audit trail, two-factor login, API tokens ---------------------------------------
# Audit entries (who read or changed what) are deleted after this many days; 0 keeps them.
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 730)
# Staff API tokens (issued from a session verified with the second factor) expire after this.
STAFF_TOKEN_DAYS = env_int("STAFF_TOKEN_DAYS", 30)
LOGIN_URL = "/staff/login/"
# Seconds of the first lock after a wrong one-time code; each further failure doubles it.
OTP_TOTP_THROTTLE_FACTOR = env_int("OTP_THROTTLE_FACTOR", 1)
OTP_STATIC_THROTTLE_FACTOR = OTP_TOTP_THROTTLE_FACTOR
# Delete audit entries older than AUDIT_RETENTION_DAYS.
CELERY_BEAT_SCHEDULE["audit-entries-purge"] = {
    "task": "campaign.audit_entries_purge",
    "schedule": _crontab(hour=5, minute=13),
}

# Background exports (the staff pages): the file is kept this many hours, then deleted by
# a beat task; the progress bar moves every so many rows.
EXPORT_JOB_EXPIRY_HOURS = env_int("EXPORT_JOB_EXPIRY_HOURS", 24)
EXPORT_JOB_PROGRESS_ROWS = max(1, env_int("EXPORT_JOB_PROGRESS_ROWS", 5000))
CELERY_BEAT_SCHEDULE["export-jobs-purge"] = {
    "task": "campaign.export_jobs_purge",
    "schedule": _crontab(minute=23),
}

# --- Petitions (petitions app) -------------------------------------------------------------
PETITIONS_CONFIRM_TOKEN_DAYS = env_int("PETITIONS_CONFIRM_TOKEN_DAYS", 30)
# Withdraw links must keep working long after signing (supporters withdraw months later).
PETITIONS_WITHDRAW_TOKEN_DAYS = env_int("PETITIONS_WITHDRAW_TOKEN_DAYS", 730)
# Signatures never confirmed are deleted after this many days (the confirmation mail says so).
PETITIONS_UNCONFIRMED_RETENTION_DAYS = env_int("PETITIONS_UNCONFIRMED_RETENTION_DAYS", 31)
# The personal data of all signatures of a petition is erased this many days after it ended
# (counts, postcode and country stay); 0 keeps it.
PETITIONS_RETENTION_DAYS = env_int("PETITIONS_RETENTION_DAYS", 365)
PETITIONS_CONFIRMATION_MAX_MAILS = env_int("PETITIONS_CONFIRMATION_MAX_MAILS", 5)
PETITIONS_CONFIRMATION_RESEND_MINUTES = env_int("PETITIONS_CONFIRMATION_RESEND_MINUTES", 10)
PETITIONS_REMINDER_ENABLED = env_bool("PETITIONS_REMINDER_ENABLED", False)
# Supporter updates go out in batches: this many mails every so many seconds.
PETITIONS_UPDATE_BATCH_SIZE = env_int("PETITIONS_UPDATE_BATCH_SIZE", 200)
PETITIONS_UPDATE_BATCH_INTERVAL_SECONDS = env_int("PETITIONS_UPDATE_BATCH_INTERVAL_SECONDS", 60)
PETITIONS_REMINDER_AFTER_HOURS = env_int("PETITIONS_REMINDER_AFTER_HOURS", 24)
PETITIONS_COUNT_INTERVAL_SECONDS = env_int("PETITIONS_COUNT_INTERVAL_SECONDS", 10)
# Per-process cache of the public count, and the Cache-Control the count endpoint sends.
PETITIONS_COUNT_CACHE_SECONDS = env_int("PETITIONS_COUNT_CACHE_SECONDS", 5)
PETITIONS_COUNT_MAX_AGE = env_int("PETITIONS_COUNT_MAX_AGE", 10)
PETITIONS_COUNT_STALE_WHILE_REVALIDATE = env_int("PETITIONS_COUNT_STALE_WHILE_REVALIDATE", 60)
PETITIONS_COUNT_STALE_IF_ERROR = env_int("PETITIONS_COUNT_STALE_IF_ERROR", 86400)
PETITIONS_RECENT_SIGNERS_LIMIT = env_int("PETITIONS_RECENT_SIGNERS_LIMIT", 10)
# Silent fraud defence (flag, never refuse): limits per hashed IP and per mail domain.
PETITIONS_IP_BURST_LIMIT = env_int("PETITIONS_IP_BURST_LIMIT", 10)
PETITIONS_IP_BURST_SECONDS = env_int("PETITIONS_IP_BURST_SECONDS", 60)
PETITIONS_IP_SUSTAINED_LIMIT = env_int("PETITIONS_IP_SUSTAINED_LIMIT", 100)
PETITIONS_IP_SUSTAINED_SECONDS = env_int("PETITIONS_IP_SUSTAINED_SECONDS", 86400)
PETITIONS_DOMAIN_LIMIT = env_int("PETITIONS_DOMAIN_LIMIT", 50)
PETITIONS_DOMAIN_SECONDS = env_int("PETITIONS_DOMAIN_SECONDS", 3600)
# The big consumer mail providers (a vendored list, petitions/data/mail_providers.txt): a
# signer with such an address does not count against the per-IP windows (throttle and the
# sustained flag; see docs/petitions.md#shared-networks), and such a domain has no domain limit.
PETITIONS_MAIL_PROVIDERS = env_list(
    "PETITIONS_MAIL_PROVIDERS", lines_read(BASE_DIR / "petitions" / "data" / "mail_providers.txt")
)
PETITIONS_DOMAIN_ALLOWLIST = env_list("PETITIONS_DOMAIN_ALLOWLIST", PETITIONS_MAIL_PROVIDERS)
# Networks known to put many signers behind one address (a school, a conference venue): no
# per-IP window applies to them, neither the throttle nor the IP flags.
PETITIONS_IP_ALLOWLIST = ip_ranges_check("PETITIONS_IP_ALLOWLIST", env_list("PETITIONS_IP_ALLOWLIST"))
# In a burst over PETITIONS_IP_BURST_LIMIT, this many signatures of one pattern (numbered
# addresses from one user agent, or one name) flag; a crowd of different people does not.
PETITIONS_IP_BURST_PATTERN_LIMIT = env_int("PETITIONS_IP_BURST_PATTERN_LIMIT", 3)
PETITIONS_BLOCKED_EMAIL_DOMAINS = env_list("PETITIONS_BLOCKED_EMAIL_DOMAINS")
PETITIONS_BLOCKED_IP_RANGES = env_list("PETITIONS_BLOCKED_IP_RANGES")
PETITIONS_BLOCK_DISPOSABLE_DOMAINS = env_bool("PETITIONS_BLOCK_DISPOSABLE_DOMAINS", True)
# ALTCHA proof of work (for petitions that enable it); the HMAC key signs the challenges.
ALTCHA_HMAC_KEY = env_str("ALTCHA_HMAC_KEY", HASH_SECRET)
ALTCHA_MAX_NUMBER = env_int("ALTCHA_MAX_NUMBER", 50000)
ALTCHA_EXPIRES_SECONDS = env_int("ALTCHA_EXPIRES_SECONDS", 600)
# The live counter is a plain Django view (DRF's request handling would cost more than the
# cached read); this is its entry in the OpenAPI schema (appended in SPECTACULAR_SETTINGS).
PETITIONS_SCHEMA_PATHS = {
    "/api/v1/petitions/{slug}/count/": {
        "get": {
            "operationId": "v1_petitions_count_retrieve",
            "summary": "The public signature total (online + offline), cacheable",
            "tags": ["v1"],
            "security": [{}],
            "parameters": [{"in": "path", "name": "slug", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": {
                    "description": "Sent with Cache-Control (max-age, stale-while-revalidate, "
                    "stale-if-error), ETag and Last-Modified.",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "signature_count": {"type": "integer"},
                                    "goal": {"type": "integer", "nullable": True},
                                    "updated_at": {"type": "string", "format": "date-time"},
                                },
                                "required": ["signature_count", "goal", "updated_at"],
                            }
                        }
                    },
                },
                "304": {"description": "Not modified (If-None-Match or If-Modified-Since)."},
                "404": {"description": "`petition_not_found`"},
            },
        }
    }
}
# Add every confirmed, unflagged signature to the counts in one batch, under an advisory lock.
CELERY_BEAT_SCHEDULE["petitions-counts-update"] = {
    "task": "petitions.petition_counts_update",
    "schedule": float(PETITIONS_COUNT_INTERVAL_SECONDS),
}
# Nightly recount: heals and logs any drift of the stored counts.
CELERY_BEAT_SCHEDULE["petitions-counts-recount"] = {
    "task": "petitions.petition_counts_recount",
    "schedule": _crontab(hour=3, minute=17),
}
# The staff report's rollup: add the signatures signed, confirmed, withdrawn or (un)flagged
# since the last pass (the report reads those from the signatures meanwhile, so it is exact
# either way; the pass keeps that part small).
CELERY_BEAT_SCHEDULE["petitions-report-rollup-update"] = {
    "task": "petitions.signature_report_rollup_update",
    "schedule": 60.0,
}
# Nightly: recompute the report rollup from the signatures (drops groups fallen to zero).
CELERY_BEAT_SCHEDULE["petitions-report-rollup-rebuild"] = {
    "task": "petitions.signature_report_rollup_rebuild",
    "schedule": _crontab(hour=3, minute=47),
}
# Delete signatures never confirmed within PETITIONS_UNCONFIRMED_RETENTION_DAYS.
CELERY_BEAT_SCHEDULE["petitions-unconfirmed-purge"] = {
    "task": "petitions.signatures_unconfirmed_purge",
    "schedule": _crontab(hour=4, minute=7),
}
# Erase the personal data of signatures of petitions that ended PETITIONS_RETENTION_DAYS ago.
CELERY_BEAT_SCHEDULE["petitions-retention-apply"] = {
    "task": "petitions.signatures_retention_apply",
    "schedule": _crontab(hour=4, minute=37),
}
# One reminder for signatures still unconfirmed after PETITIONS_REMINDER_AFTER_HOURS (if enabled).
CELERY_BEAT_SCHEDULE["petitions-reminders-send"] = {
    "task": "petitions.signature_reminders_send",
    "schedule": 900.0,
}

# --- Donations (donations app) -------------------------------------------------------------
# Limits of one gift, in cents (without the fee the donor may add).
DONATION_MIN_AMOUNT = env_int("DONATION_MIN_AMOUNT", 100)
DONATION_MAX_AMOUNT = env_int("DONATION_MAX_AMOUNT", 1_000_000)
# Stripe's price per method, for "cover the fees": percent as a decimal string plus cents.
DONATION_FEE_CARD_PERCENT = env_str("DONATION_FEE_CARD_PERCENT", "1.5")
DONATION_FEE_CARD_FIXED = env_int("DONATION_FEE_CARD_FIXED", 25)
DONATION_FEE_SEPA_PERCENT = env_str("DONATION_FEE_SEPA_PERCENT", "0")
DONATION_FEE_SEPA_FIXED = env_int("DONATION_FEE_SEPA_FIXED", 35)
# Monthly gifts: a failed charge is retried after this many days, at most this many times,
# then the mandate is paused and the donor told.
MANDATE_RETRY_DAYS = env_int("MANDATE_RETRY_DAYS", 3)
MANDATE_MAX_FAILURES = env_int("MANDATE_MAX_FAILURES", 3)
# SEPA creditor identifier, quoted in the pre-notification of every SEPA debit.
SEPA_CREDITOR_ID = env_str("SEPA_CREDITOR_ID", "DE98ZZZ09999999999")
# Days between announcing a SEPA debit and collecting it (the pre-notification period).
SEPA_PRENOTIFICATION_DAYS = env_int("SEPA_PRENOTIFICATION_DAYS", 2)
# The NGO's tax exemption, printed on every Zuwendungsbestätigung.
DONATION_RECEIPT = {
    "tax_office": env_str("RECEIPT_TAX_OFFICE", "Finanzamt für Körperschaften I Berlin"),
    "tax_number": env_str("RECEIPT_TAX_NUMBER", "27/000/00000"),
    "exemption_date": env_str("RECEIPT_EXEMPTION_DATE", "2025-01-01"),
    "exemption_period": env_str("RECEIPT_EXEMPTION_PERIOD", "2021 bis 2023"),
    "purpose": env_str("RECEIPT_PURPOSE", "Förderung der Jugendhilfe und des Kinderschutzes"),
    "signatory": env_str("RECEIPT_SIGNATORY", "Der Vorstand"),
    "place": env_str("RECEIPT_PLACE", "Berlin"),
}
# Gifts up to this amount (cents) get the simplified proof (Vereinfachter Zuwendungsnachweis).
RECEIPT_SIMPLIFIED_MAX_AMOUNT = env_int("RECEIPT_SIMPLIFIED_MAX_AMOUNT", 30_000)
# A donor's year above that limit gets its collective receipt without asking (the bank
# statement no longer suffices as proof, § 50 Abs. 4 EStDV).
RECEIPT_ANNUAL_OVER_LIMIT = env_bool("RECEIPT_ANNUAL_OVER_LIMIT", True)
# A donor's own page: how long the mailed link works, and the session it opens.
# Wallets: more domains that show the button (besides PUBLIC_BASE_URL and the CORS origins),
# and the Apple Pay domain association file Stripe provides, served at /.well-known/.
WALLET_EXTRA_DOMAINS = env_list("WALLET_EXTRA_DOMAINS")
APPLE_PAY_DOMAIN_ASSOCIATION_FILE = env_str("APPLE_PAY_DOMAIN_ASSOCIATION_FILE", "")
DONOR_LINK_TTL_MINUTES = env_int("DONOR_LINK_TTL_MINUTES", 60)
DONOR_SESSION_MINUTES = env_int("DONOR_SESSION_MINUTES", 30)
# How far back the nightly reconciliation looks at Stripe's PaymentIntents.
STRIPE_RECONCILE_DAYS = env_int("STRIPE_RECONCILE_DAYS", 3)
# Webhook events still unprocessed after this long are handed to a worker again.
STRIPE_EVENT_REQUEUE_AFTER_SECONDS = env_int("STRIPE_EVENT_REQUEUE_AFTER_SECONDS", 300)
# Processed webhook bodies (they hold personal data) are blanked after this many days.
STRIPE_EVENT_PAYLOAD_RETENTION_DAYS = env_int("STRIPE_EVENT_PAYLOAD_RETENTION_DAYS", 30)
# Donors who never completed a gift are anonymised after this many days.
DONATION_ABANDONED_RETENTION_DAYS = env_int("DONATION_ABANDONED_RETENTION_DAYS", 30)

# Charge the monthly gifts that are due (hourly; each mandate is charged once per month).
CELERY_BEAT_SCHEDULE["donations-mandates-charge"] = {
    "task": "donations.mandates_charge_due",
    "schedule": _crontab(minute=23),
}
# Hand Stripe events whose processing task got lost to a worker again.
CELERY_BEAT_SCHEDULE["donations-stripe-events-sweep"] = {
    "task": "donations.stripe_events_sweep",
    "schedule": 300.0,
}
# Repair donations whose webhook never arrived, from Stripe's list of PaymentIntents.
CELERY_BEAT_SCHEDULE["donations-reconcile"] = {
    "task": "donations.payments_reconcile",
    "schedule": _crontab(hour=2, minute=47),
}
# Erase the personal data of donors who never completed a gift.
CELERY_BEAT_SCHEDULE["donations-abandoned-purge"] = {
    "task": "donations.donors_abandoned_purge",
    "schedule": _crontab(hour=5, minute=7),
}
# In January: the collective receipts (Sammelbestätigung) for the previous year (daily check,
# issues each donor's receipt once).
CELERY_BEAT_SCHEDULE["donations-annual-receipts"] = {
    "task": "donations.annual_receipts_issue",
    "schedule": _crontab(hour=6, minute=30),
}

# --- Officials (officials app) -------------------------------------------------------------
# Mails to officials per campaign and hour when no delivery plan sets its own cap.
OFFICIALS_HOURLY_CAP = env_int("OFFICIALS_HOURLY_CAP", 60)
# The petition link in mails to officials; {slug} is replaced by the petition's slug.
OFFICIALS_PETITION_URL = env_str("OFFICIALS_PETITION_URL", PUBLIC_BASE_URL + "/?petition={slug}")
OFFICIALS_DELIVERY_INTERVAL_SECONDS = env_int("OFFICIALS_DELIVERY_INTERVAL_SECONDS", 120)
# Release capped deliveries, create due weekly deliveries, reflect sent/needs-review states.
CELERY_BEAT_SCHEDULE["officials-deliveries"] = {
    "task": "officials.deliveries_process",
    "schedule": float(OFFICIALS_DELIVERY_INTERVAL_SECONDS),
}

# --- Mail -----------------------------------------------------------------------------------
EMAIL_URL = env_str("EMAIL_URL")
if EMAIL_URL:
    _email = urlparse(EMAIL_URL)
    if _email.scheme == "console":
        EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    elif _email.scheme in {"smtp", "smtps", "submission"}:
        EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        EMAIL_HOST = _email.hostname or "localhost"
        EMAIL_PORT = _email.port or (
            465 if _email.scheme == "smtps" else 587 if _email.scheme == "submission" else 25
        )
        EMAIL_HOST_USER = unquote(_email.username or "")
        EMAIL_HOST_PASSWORD = unquote(_email.password or "")
        EMAIL_USE_SSL = _email.scheme == "smtps"
        EMAIL_USE_TLS = _email.scheme == "submission"
    else:
        raise ImproperlyConfigured(
            f"EMAIL_URL scheme must be smtp, smtps, submission or console, got {_email.scheme!r}"
        )
elif env_str("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env_str("EMAIL_HOST", "")
    EMAIL_PORT = env_int("EMAIL_PORT", 25)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Kampagne <kampagne@example.org>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The shared secret of the mail provider's delivery-event webhooks: HTTP basic auth
# ("user:password") of django-anymail's tracking webhooks, and the HMAC key of the generic JSON
# format (campaign/privacy/bounces.py). Unset: neither webhook accepts events.
MAIL_WEBHOOK_SECRET = env_str("MAIL_WEBHOOK_SECRET", "")
ANYMAIL = {"WEBHOOK_SECRET": MAIL_WEBHOOK_SECRET or None}
# The mailto of the List-Unsubscribe header (RFC 8058 mails); the sender address by default.
UNSUBSCRIBE_MAILTO = env_str("UNSUBSCRIBE_MAILTO", DEFAULT_FROM_EMAIL.rsplit("<", 1)[-1].strip(" >"))
# Campaign staff who get milestone notices and other internal mail.
STAFF_NOTIFICATION_EMAILS = env_list("STAFF_NOTIFICATION_EMAILS")

# The imprint every mail carries (German law requires the sender's name, address and contact),
# for campaigns that have no organisation of their own (campaign.models.Organisation).
ORGANISATION = {
    "name": env_str("ORG_NAME", "Beispiel-Kinderschutz e.V."),
    "address": env_str("ORG_ADDRESS", "Musterstraße 1, 10115 Berlin, Deutschland"),
    "email": env_str("ORG_EMAIL", "info@example.org"),
    "phone": env_str("ORG_PHONE", ""),
    "website": env_str("ORG_WEBSITE", "https://example.org"),
    "register": env_str("ORG_REGISTER", "Amtsgericht Berlin-Charlottenburg VR 00000"),
    "representative": env_str("ORG_REPRESENTATIVE", ""),
}
# The name an authenticator app shows next to the staff account.
OTP_TOTP_ISSUER = ORGANISATION["name"]

# --- Stripe ---------------------------------------------------------------------------------
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY", "sk_test_local" if DEBUG else None)
STRIPE_PUBLISHABLE_KEY = env_str("STRIPE_PUBLISHABLE_KEY", "pk_test_local" if DEBUG else None)
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET", "whsec_local" if DEBUG else None)
# Points the SDK at a Stripe stand-in (localstripe); unset for real Stripe.
STRIPE_API_BASE = env_str("STRIPE_API_BASE", "http://127.0.0.1:8420" if DEBUG else None)

# --- HTTP, CORS, security -------------------------------------------------------------------
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
# Where the widget loads Stripe.js from: Stripe's own, or the local stand-in's copy.
STRIPE_JS_URL = env_str(
    "STRIPE_JS_URL",
    f"{STRIPE_API_BASE}/js.stripe.com/v3/" if STRIPE_API_BASE else "https://js.stripe.com/v3/",
)
CORS_URLS_REGEX = r"^/api/v1/(?!staff/).*$"
# Pages embedding the widget may read the request id (to quote it in a support request).
CORS_EXPOSE_HEADERS = ["X-Request-ID", "Retry-After"]
CORS_ALLOW_CREDENTIALS = False
# Trusted reverse proxies (campaign/client_ip.py): how many stand in front of the service,
# and/or the CIDR ranges of their addresses. Neither: X-Forwarded-For is ignored.
NUM_PROXIES = env_int("NUM_PROXIES", 0)
TRUSTED_PROXY_RANGES = ip_ranges_check("TRUSTED_PROXY_RANGES", env_list("TRUSTED_PROXY_RANGES"))
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 64 * 1024)

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Checks and scrapes come over plain HTTP inside the network, never through the proxy.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading is a commitment for the whole domain that the NGO makes, not this service.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SECURE_CONTENT_TYPE_NOSNIFF = True
    CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
    require("STRIPE_SECRET_KEY", STRIPE_SECRET_KEY)
    require("STRIPE_PUBLISHABLE_KEY", STRIPE_PUBLISHABLE_KEY)
    require("STRIPE_WEBHOOK_SECRET", STRIPE_WEBHOOK_SECRET)
    require("PUBLIC_BASE_URL", env_str("PUBLIC_BASE_URL"))

# --- DRF and the API schema -----------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    # Public endpoints override this with no authentication (no cookies needed).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "campaign.staff_tokens.StaffTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "campaign.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_RATES": {
        # Per IP, signers with an address at a big mail provider not counted (see
        # docs/petitions.md#shared-networks); the second counts every signing of the address.
        "sign": env_str("THROTTLE_SIGN_RATE", "30/minute"),
        "sign_max": env_str("THROTTLE_SIGN_MAX_RATE", "120/minute"),
        "donate": env_str("THROTTLE_DONATE_RATE", "10/minute"),
        "token": env_str("THROTTLE_TOKEN_RATE", "30/minute"),
        "manage_link": env_str("THROTTLE_MANAGE_LINK_RATE", "5/hour"),
        "privacy_request": env_str("THROTTLE_PRIVACY_REQUEST_RATE", "10/hour"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Campaign backend API",
    "DESCRIPTION": "Petitions, donations and delivery of signature totals for advocacy campaigns.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs page's assets are served from here, not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "APPEND_PATHS": PETITIONS_SCHEMA_PATHS,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "campaign.schema.error_responses_add",
        "campaign.schema.input_constraints_add",
    ],
}

# --- i18n, static ---------------------------------------------------------------------------
LANGUAGE_CODE = "de"
LANGUAGES = [("de", "Deutsch"), ("en", "English")]
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# The default storage holds the staff's background exports (never served by a URL: each
# download goes through the audited export endpoint). A volume in production.
MEDIA_ROOT = env_str("MEDIA_ROOT", str(BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", DEBUG)

# --- Logging: no personal data; ids only (campaign/logs.py) --------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# `json` in production: one JSON object a line with request and task ids.
LOG_FORMAT = env_str("LOG_FORMAT", "plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, got {LOG_FORMAT!r}")
LOGGING = logging_config(level=LOG_LEVEL, log_format=LOG_FORMAT)
