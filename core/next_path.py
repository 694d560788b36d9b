"""Where a `next` parameter may send a browser: a path of this site, else the page the caller names.

Every view that reads `next` (the sign-in pages, the second factor, sign-out, the environment menu,
promotion) goes through `next_path`, and answers with `HttpResponseRedirect`, never `redirect()`:
`redirect()` looks text without "/" or "." up as a URL name, so `next=-1` was a NoReverseMatch (500).
"""

import unicodedata

from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpRequest, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme


def local_path(value: object) -> str | None:
    """`value` when it is a path of this site, else None.

    A path of this site starts with one "/" (not "//" or "/\\", which browsers read as another host),
    names no scheme and no host, and holds no control character (browsers drop a tab or a newline, so
    "/\\t/evil.example" would become "//evil.example")."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith(("//", "/\\")):
        return None
    if any(unicodedata.category(character) == "Cc" for character in value):
        return None
    # Django's own check on top (no allowed host: a URL that names any host is refused).
    if not url_has_allowed_host_and_scheme(value, allowed_hosts=set()):
        return None
    return value


def next_path(request: HttpRequest, fallback: str) -> str:
    """The request's `next` (the form's field first, then the query string's) when it is a path of this
    site, else `fallback` (a path the caller built, never user text)."""
    wanted = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME)
    return local_path(wanted) or fallback


def next_redirect(request: HttpRequest, fallback: str) -> HttpResponseRedirect:
    """A redirect to `next_path(request, fallback)`."""
    return HttpResponseRedirect(next_path(request, fallback))
