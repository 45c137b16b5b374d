"""The client's address: the one function the throttles, the signatures' IP hash and the audit
trail's IP hash all use.

`X-Forwarded-For` is read only behind proxies the deployment declares trusted: `NUM_PROXIES`
(how many proxies stand in front of the service) and/or `TRUSTED_PROXY_RANGES` (CIDR ranges the
proxies' addresses are in). With neither (the default) the header is ignored and the address is
the connection's (`REMOTE_ADDR`), so nobody can choose their own address by sending the header.

The chain is `X-Forwarded-For` entries followed by `REMOTE_ADDR`, read from the right: a hop is
trusted when it is among the last `NUM_PROXIES` or inside `TRUSTED_PROXY_RANGES`, and the client
is the first hop that is not trusted. Entries to its left were written by the client itself
(anyone can send `X-Forwarded-For: 1.2.3.4`), so they are never taken. A garbled entry (not an
address) stops the walk at the last good hop. Ports (`1.2.3.4:5678`, `[2001:db8::1]:443`, as
some load balancers write them) are dropped and IPv4-mapped IPv6 addresses unwrapped, so one
client has one address.

Hand-written rather than django-ipware: its trusted-proxy list matches string prefixes, not CIDR
ranges, and it reads several vendor headers by default, each of them spoofable without a proxy.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def address_parse(value: str) -> Address | None:
    """The address in an `X-Forwarded-For` entry or `REMOTE_ADDR`, or None if there is none."""
    host = value.strip().strip('"')
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else host[1:]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]  # IPv4 with a port
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@lru_cache(maxsize=16)
def networks_parse(ranges: tuple[str, ...]) -> tuple[Network, ...]:
    """CIDR ranges (or single addresses) as networks; the settings validated them at start."""
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in ranges if value.strip())


def address_in_ranges(ip: str, ranges: list[str] | tuple[str, ...]) -> bool:
    if not ranges or not ip:
        return False
    address = address_parse(ip)
    if address is None:
        return False
    return any(address in network for network in networks_parse(tuple(ranges)))


def request_client_ip(request: Any) -> str:
    """The client's address (normalised), trusting `X-Forwarded-For` only as far as
    `NUM_PROXIES` and `TRUSTED_PROXY_RANGES` say (see the module docstring)."""
    remote = str(request.META.get("REMOTE_ADDR", "") or "")
    hops = settings.NUM_PROXIES
    networks = networks_parse(tuple(settings.TRUSTED_PROXY_RANGES))
    remote_address = address_parse(remote)
    if not hops and not networks:
        return str(remote_address) if remote_address is not None else remote
    forwarded = [entry for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if entry.strip()]
    if remote_address is None:
        # A Unix socket (gunicorn behind a local nginx): the peer is a local proxy.
        client = ""
    else:
        client = str(remote_address)
        if hops < 1 and not any(remote_address in network for network in networks):
            return client  # not from a trusted proxy: its X-Forwarded-For means nothing
    for index, entry in enumerate(reversed(forwarded), start=1):
        address = address_parse(entry)
        if address is None:
            return client or remote
        client = str(address)
        if index >= hops and not any(address in network for network in networks):
            return client
    # Every hop is a trusted proxy: the leftmost is the best there is.
    return client or remote
