"""Reading the requests of the /o/client/* endpoints: body size, content types, forms without repeated
parameters, JSON objects without repeated keys, and client credentials (RFC 6749 2.3.1)."""

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from django.http import HttpRequest

from core import untrusted_json

from .errors import OAuthError, invalid_request

MAX_BODY_BYTES = 64 * 1024
MAX_FORM_FIELDS = 32
# Our client ids are 40 URL-safe base64 characters (oauth.models.client_id_generate); anything outside
# this alphabet cannot be one of ours.
_CLIENT_ID = re.compile(r"[A-Za-z0-9._~-]{1,255}")
_MAX_SECRET_LENGTH = 512


def body_read(request: HttpRequest) -> bytes:
    """The request body, refused over 64 KiB (README "API walk-through with curl", what `/o/client/*` accepts)
    before anything is read."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise invalid_request("The Content-Length header is not a number.") from None
    if length > MAX_BODY_BYTES:
        raise invalid_request("The request body is larger than 64 KiB.")
    body = request.body
    if len(body) > MAX_BODY_BYTES:
        raise invalid_request("The request body is larger than 64 KiB.")
    return body


def _media_type(request: HttpRequest) -> tuple[str, dict[str, str]]:
    raw = request.META.get("CONTENT_TYPE", "") or ""
    media, _, rest = raw.partition(";")
    params = {}
    for part in rest.split(";"):
        name, _, value = part.partition("=")
        if name.strip():
            params[name.strip().lower()] = value.strip().strip('"').lower()
    return media.strip().lower(), params


def content_type_require(request: HttpRequest, expected: str) -> None:
    """The media type must be `expected`; a charset parameter is fine if it is UTF-8 (or ASCII)."""
    media, params = _media_type(request)
    if media != expected:
        raise invalid_request(f"The Content-Type must be {expected}.")
    if params.get("charset", "utf-8") not in ("utf-8", "utf8", "us-ascii"):
        raise invalid_request("The request body must be encoded in UTF-8.")


def accept_allows_json(request: HttpRequest) -> bool:
    """RFC 9110 12.5.1: absent Accept means anything; otherwise a range with q > 0 must cover JSON."""
    header = (request.META.get("HTTP_ACCEPT") or "").strip()
    if not header:
        return True
    for media_range in header.split(","):
        media, *params = (part.strip() for part in media_range.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0 and media.lower() in ("application/json", "application/*", "*/*"):
            return True
    return False


def query_string_refuse(request: HttpRequest) -> None:
    """RFC 6749 2.3.1 and 3.2: parameters (above all credentials) go in the body, never the URI, which
    ends up in logs."""
    if request.META.get("QUERY_STRING"):
        raise invalid_request("Send the parameters in the request body; the query string must be empty.")


def form_pairs(body: bytes) -> list[tuple[str, str]]:
    """`urllib.parse.parse_qsl` as form_parse calls it (blank values kept, UTF-8 strict, at most
    MAX_FORM_FIELDS fields), with a shortcut for a body that nothing escapes (no `%`, no `+`, ASCII), as
    a client_credentials request with our URL-safe ids and secrets is: split, nothing to decode. Raises
    ValueError or UnicodeDecodeError as parse_qsl does."""
    if b"%" in body or b"+" in body or not body.isascii():
        return parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    text = body.decode("ascii")
    if text.count("&") >= MAX_FORM_FIELDS:
        raise ValueError("Max number of fields exceeded")
    pairs = []
    for piece in text.split("&"):
        if piece:
            name, _, value = piece.partition("=")
            pairs.append((name, value))
    return pairs


def form_parse(request: HttpRequest) -> dict[str, str]:
    """An application/x-www-form-urlencoded body as a dict. RFC 6749 3.2: parameters sent without a
    value are treated as omitted, and request parameters must not be included more than once."""
    query_string_refuse(request)
    content_type_require(request, "application/x-www-form-urlencoded")
    body = body_read(request)
    try:
        pairs = form_pairs(body)
    except (UnicodeDecodeError, ValueError):
        raise invalid_request("The request body is not a valid UTF-8 form.") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise invalid_request(f"The parameter {_printable(name)} is repeated.")
        if "\x00" in value or "\x00" in name:
            raise invalid_request("The request body contains a NUL character.")
        form[name] = value
    return {name: value for name, value in form.items() if value != ""}


def _printable(name: str) -> str:
    cleaned = "".join(ch for ch in name if ch.isalnum() or ch in "_-")[:40]
    return cleaned or "(unnamed)"


class _RepeatedKey(ValueError):
    pass


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _RepeatedKey(key)
        result[key] = value
    return result


def json_object_parse(request: HttpRequest) -> dict[str, Any]:
    """An application/json body that must be a UTF-8 JSON object without repeated keys."""
    content_type_require(request, "application/json")
    body = body_read(request)
    try:
        value = untrusted_json.loads(body, object_pairs_hook=_no_repeats)
    except _RepeatedKey:
        raise invalid_request("The request body repeats a key.") from None
    except ValueError:
        raise invalid_request("The request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise invalid_request("The request body must be a JSON object.")
    return value


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    client_secret: str
    basic: bool

    def __repr__(self) -> str:  # never the secret
        return f"ClientCredentials({self.client_id!r}, basic={self.basic})"


def client_credentials(request: HttpRequest, form: dict[str, str]) -> ClientCredentials:
    """RFC 6749 2.3.1: HTTP Basic (id and secret form-encoded, then base64) or `client_id` and
    `client_secret` in the body; never both (RFC 6749 2.3: one method per request). A `client_id` in
    the body that repeats the Basic one is tolerated (RFC 6749 3.2.1 lets clients send it)."""
    header = request.META.get("HTTP_AUTHORIZATION")
    if header is not None:
        scheme, _, encoded = header.strip().partition(" ")
        if scheme.lower() != "basic":
            raise invalid_request("Authenticate the client with HTTP Basic or with body credentials.")
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise invalid_request("The Authorization header is not valid HTTP Basic.") from None
        raw_id, colon, raw_secret = decoded.partition(":")
        if not colon:
            raise invalid_request("The Authorization header is not valid HTTP Basic.")
        client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
        if "client_secret" in form or ("client_id" in form and form["client_id"] != client_id):
            raise invalid_request("Send client credentials either with HTTP Basic or in the body, not both.")
        if not client_id or not secret:
            raise OAuthError(
                "invalid_client",
                "Client authentication failed.",
                status=401,
                headers={"WWW-Authenticate": 'Basic realm="client"'},
            )
        return ClientCredentials(client_id, secret, basic=True)
    body_id, body_secret = form.get("client_id"), form.get("client_secret")
    if body_id is None or body_secret is None:
        raise invalid_request("The client_id and client_secret parameters are required.")
    return ClientCredentials(body_id, body_secret, basic=False)


def credentials_plausible(credentials: ClientCredentials) -> bool:
    """Whether the id could be one of ours at all (so nothing odd reaches the database)."""
    return bool(_CLIENT_ID.fullmatch(credentials.client_id)) and len(credentials.client_secret) <= _MAX_SECRET_LENGTH
