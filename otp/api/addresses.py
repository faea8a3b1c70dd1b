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
    client = _ip(forwarded[-hops])
    return str(client) if client else remote


def _is_trusted_proxy(address: str) -> bool:
    peer = _ip(address)
    return peer is not None and any(peer in net for net in settings.TRUSTED_PROXY_NETWORKS)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address in `text`, or None. A zone id ("fe80::1%eth0") names an interface of the
    sender, not a different client, so it is dropped."""
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
