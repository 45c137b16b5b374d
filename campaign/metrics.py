"""Prometheus metrics: the registration helpers every app uses, the request middleware, the
scrape-time gauges of the core (outbox, beat) and the guarded /metrics view.

Counters and histograms live in process memory, or, with PROMETHEUS_MULTIPROC_DIR set (gunicorn
with several workers, Celery's prefork children), in files in that directory that a scrape
sums over every process (prometheus-client's multiprocess mode; gunicorn.conf.py marks a dead
worker's files). Gauges that describe the database (rows pending, the age of the oldest, the
last run of each beat task) are not kept anywhere: each scrape runs a few cheap queries.

Apps keep their own counters (petitions/metrics.py, ...) and register their database gauges
with `gauge_source_register`, so the core imports no app. docs/operations.md lists every metric.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

# Multiprocess mode writes a file per process at the first metric: the directory must exist
# (a management command run in a container that has none would fail otherwise).
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

PREFIX = "campaign_"

_counters: dict[str, Counter] = {}
_histograms: dict[str, Histogram] = {}
# name -> a function yielding gauge families, run at each scrape.
GaugeSource = Callable[[], Iterable[Metric]]
_gauge_sources: dict[str, GaugeSource] = {}


def counter(name: str, documentation: str, labelnames: Iterable[str] = ()) -> Counter:
    """The counter `campaign_<name>_total`, created once per process (a second call returns it)."""
    if name not in _counters:
        _counters[name] = Counter(PREFIX + name, documentation, labelnames=tuple(labelnames))
    return _counters[name]


def histogram(
    name: str, documentation: str, labelnames: Iterable[str] = (), buckets: tuple[float, ...] | None = None
) -> Histogram:
    if name not in _histograms:
        extra: dict[str, Any] = {"buckets": buckets} if buckets else {}
        _histograms[name] = Histogram(PREFIX + name, documentation, labelnames=tuple(labelnames), **extra)
    return _histograms[name]


def gauge_source_register(name: str, source: GaugeSource) -> None:
    """`source` yields gauge families computed from the database when /metrics is scraped."""
    _gauge_sources[name] = source


def gauge(name: str, documentation: str, labels: Iterable[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(PREFIX + name, documentation, labels=list(labels))


def age_seconds(oldest: Any) -> float:
    """Seconds since `oldest` (a datetime), 0 when there is none."""
    if oldest is None:
        return 0.0
    from django.utils import timezone

    return max(0.0, (timezone.now() - oldest).total_seconds())


class DatabaseGaugeCollector(Collector):
    """Runs every registered gauge source; one that fails (the database down) is left out and
    `campaign_metrics_source_up{source}` says so, instead of failing the scrape."""

    def collect(self) -> Iterator[Metric]:
        up = gauge("metrics_source_up", "1 when the gauge source answered at this scrape.", ["source"])
        for name, source in sorted(_gauge_sources.items()):
            try:
                families = list(source())
            except Exception as exc:  # noqa: BLE001 - a scrape never fails on one source
                logger.warning("metrics source %s failed: %s", name, type(exc).__name__)
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from families
        yield up


# -- requests ---------------------------------------------------------------------------------

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _request_metrics() -> tuple[Counter, Histogram]:
    requests_total = counter(
        "http_requests", "HTTP requests by view (URL name), method and status.", ["view", "method", "status"]
    )
    latency = histogram(
        "http_request_duration_seconds",
        "Time to answer, by view (URL name) and method.",
        ["view", "method"],
        buckets=_LATENCY_BUCKETS,
    )
    return requests_total, latency


def view_label(request: HttpRequest) -> str:
    """The resolved URL name (never the raw path, which would make a label per slug and id)."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "<unresolved>"
    return match.view_name or "<unnamed>"


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestMetricsMiddleware:
    """Counts each request and times it, labelled by the view that answered."""

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.requests_total, self.latency = _request_metrics()

    def __call__(self, request: HttpRequest) -> Any:
        started = time.perf_counter()
        response = self.get_response(request)
        view = view_label(request)
        if view == "metrics":
            return response  # the scrape itself is left out
        method = request.method if request.method in _METHODS else "other"
        self.requests_total.labels(view, method, str(response.status_code)).inc()
        self.latency.labels(view, method).observe(time.perf_counter() - started)
        return response


# -- the endpoint -----------------------------------------------------------------------------


def _address_allowed(address: str) -> bool:
    networks = settings.METRICS_ALLOWED_CIDRS
    if not networks or not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(cidr, strict=False) for cidr in networks)


def _token_valid(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if not token or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header.removeprefix("Bearer ").strip().encode(), token.encode())


def metrics_access_allowed(request: HttpRequest) -> bool:
    """A valid bearer token (METRICS_TOKEN) or a peer address in METRICS_ALLOWED_CIDRS. The
    address is the direct peer (REMOTE_ADDR), never X-Forwarded-For: scrape past the proxy."""
    return _token_valid(request) or _address_allowed(request.META.get("REMOTE_ADDR", ""))


def registry_for_scrape() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_ProcessRegistry())
    registry.register(DatabaseGaugeCollector())
    return registry


class _ProcessRegistry(Collector):
    """This process's own metrics (a single process: development, the embedded default)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text format. Anyone else gets the 404 of an address that does not exist."""
    if not metrics_access_allowed(request):
        raise Http404
    body = generate_latest(registry_for_scrape())
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
