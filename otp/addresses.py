"""The address of the client behind any trusted reverse proxies."""

import ipaddress

from django.conf import settings


def client_address(request) -> str:
    """REMOTE_ADDR, or with TRUSTED_PROXY_COUNT = N the address the N-th proxy from us saw.

    Each trusted proxy appends the address it received the request from to X-Forwarded-For, so
    the entry N from the right is the client; anything further left was written by the client and
    is ignored. The header is believed only when the peer is in TRUSTED_PROXY_NETWORKS. A header
    with too few entries, or an entry that is not an IP address, falls back to the socket address.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    hops = settings.TRUSTED_PROXY_COUNT
    if hops == 0 or not _is_trusted_proxy(remote):
        return remote
    forwarded = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(forwarded) < hops:
        return remote
    # A zone id ("fe80::1%eth0") names an interface of the sender, not a different client.
    candidate = forwarded[-hops].split("%", 1)[0]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def _is_trusted_proxy(address: str) -> bool:
    try:
        peer = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    return any(peer in network for network in settings.TRUSTED_PROXY_NETWORKS)
