"""Settings for `make bench`: the production settings (DEBUG=false, secrets from the
environment that bench/run.sh sets) plus the bare baseline views of bench/urls.py."""

from __future__ import annotations

from campaign.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
