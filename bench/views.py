"""Bare Django views: the baselines. No DRF, no validation, no cache; only what any Django view
on this server costs (the same settings and middleware) plus the one thing each does."""

from __future__ import annotations

import json

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

# Created by bench/setup (not a model: the table exists only in the benchmark database).
BENCH_TABLE_SQL = """
CREATE TABLE IF NOT EXISTS bench_insert (
    id bigserial PRIMARY KEY,
    first_name varchar(100) NOT NULL,
    last_name varchar(100) NOT NULL,
    email varchar(254) NOT NULL,
    postcode varchar(16) NOT NULL,
    country varchar(2) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""


@csrf_exempt
def bare_insert(request: HttpRequest) -> JsonResponse:
    """Parses the same JSON body the sign endpoint gets and does one INSERT."""
    data = json.loads(request.body)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_insert (first_name, last_name, email, postcode, country) VALUES (%s, %s, %s, %s, %s)",
            [data["first_name"], data["last_name"], data["email"], data["postcode"], data["country"]],
        )
    return JsonResponse({"status": "pending_confirmation"}, status=202)


def bare_json(request: HttpRequest) -> JsonResponse:
    """A constant body of the count endpoint's shape."""
    return JsonResponse({"signature_count": 123456, "goal": 200000, "updated_at": "2026-11-28T12:00:00Z"})
