"""The IP address a request came from, for audit events: REMOTE_ADDR, or the address the configured
number of trusted proxies (`DCR_TRUSTED_PROXIES`) put in X-Forwarded-For."""

import ipaddress

from django.http import HttpRequest

from . import process_state
from .conf import dcr


# A pure function of its text: remembered (a token request parsed its REMOTE_ADDR each time, about 15 us).
@process_state.memoized("request-ip-addresses", maxsize=4096)
def _valid(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return None


def request_ip(request: HttpRequest) -> str | None:
    """Each trusted proxy appends the address it received the request from, so the client is the
    entry that many places from the right; anything left of it can be forged by the client."""
    remote = _valid(request.META.get("REMOTE_ADDR", "") or "")
    proxies = dcr.trusted_proxies
    if proxies <= 0:
        return remote
    forwarded = [part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < proxies:
        return remote
    return _valid(forwarded[-proxies]) or remote
