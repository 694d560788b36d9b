"""The answer to a request over its application's quota (README "Quotas"): 429 `too_many_requests` with
Retry-After (RFC 9110 10.2.3, RFC 6585 4) and the RateLimit header fields of
draft-ietf-httpapi-ratelimit-headers-11: `RateLimit-Policy` (the policy that refused: its quota `q` over
a window of `w` seconds) and `RateLimit` (that policy's remaining quota `r`, 0, and the seconds `t`
until its window resets), each a Structured Field list of one item named by a string (RFC 9651).

Sent on refusals only, not on every success: the counts are an application's, shared by all its
clients (up to millions of devices), so a device cannot pace itself on them, and every device would
learn how much its application is used; a success would also pay for the counts in the script's reply
and two more header fields."""

from django.http import HttpResponse

from core.hot_store import QuotaRefusal
from core.hot_store.base import QUOTA_WINDOWS
from core.token_bucket import retry_after_header

from .errors import OAuthError, error_response

_WHAT = {1: "tokens per hour", 2: "tokens per day", 3: "registrations per hour"}


def quota_headers(refusal: QuotaRefusal) -> dict[str, str]:
    name, seconds = QUOTA_WINDOWS[refusal.window]
    reset = retry_after_header(refusal.retry_after)
    return {
        "Retry-After": reset,
        "RateLimit-Policy": f'"{name}";q={refusal.limit};w={seconds}',
        "RateLimit": f'"{name}";r=0;t={reset}',
    }


def quota_exceeded(refusal: QuotaRefusal) -> HttpResponse:
    error = OAuthError(
        "too_many_requests",
        f"This application's quota of {refusal.limit} {_WHAT[refusal.window]} is used up; retry after "
        "the seconds in Retry-After.",
        status=429,
        headers=quota_headers(refusal),
    )
    return error_response(error)
