"""The device headers (X-Device-Info, AP-Device-Identifier) and platform hints from a User-Agent (pure).

X-Device-Info carries base64 of a JSON object describing the device (`primaryHardwareType`, `model`,
`manufacturer`, `osName`, `osFamily`, `osVersion`, `browserName`, ...). It is optional at
registration and on the protected API; without it we derive what a User-Agent tells us. Its values are
not checked against the original's lists: the original classifies a device it cannot read as `unknown`
rather than refusing it (README "Protected API").

AP-Device-Identifier (REST API v2) is `<type> <identifier>`: the type `fingerprint` (the only one the
original defines; compared without case, as HTTP compares authentication schemes) and the identifier base64
of the device's own stable identifier.
"""

import base64
import binascii
import re
from collections.abc import Sequence
from typing import Any

from core import untrusted_json

MAX_HEADER_LENGTH = 8192
# A SHA-256 digest in base64 is 44 characters, a UUID's text 48: room for any real identifier.
MAX_DEVICE_IDENTIFIER_LENGTH = 1024
DEVICE_IDENTIFIER_TYPES = frozenset({"fingerprint"})
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")
_DEVICE_IDENTIFIER = re.compile(r"([^ \t]+)[ \t]+([^ \t]+)")


class DeviceInfoError(ValueError):
    """The X-Device-Info header is present but is not base64 of a JSON object."""


class DeviceIdentifierError(ValueError):
    """The AP-Device-Identifier header is present but is not `fingerprint <base64>`."""


def _base64_decode(text: str) -> bytes | None:
    """Standard or url-safe base64, padding optional; None when `text` is not that."""
    if not _BASE64.fullmatch(text):
        return None
    text = text.rstrip("=")
    if len(text) % 4 == 1:
        return None
    try:
        return base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def device_identifier_parse(header: str) -> bytes:
    """The device identifier of an `AP-Device-Identifier: fingerprint <base64>` header (REST API v2):
    the decoded bytes, never empty."""
    if len(header) > MAX_DEVICE_IDENTIFIER_LENGTH:
        raise DeviceIdentifierError("AP-Device-Identifier is too long.")
    parts = _DEVICE_IDENTIFIER.fullmatch(header.strip(" \t"))
    if parts is None or parts[1].lower() not in DEVICE_IDENTIFIER_TYPES:
        raise DeviceIdentifierError("AP-Device-Identifier must be `fingerprint <base64 of the device identifier>`.")
    raw = _base64_decode(parts[2])
    if not raw:
        raise DeviceIdentifierError("The AP-Device-Identifier identifier is not base64 of the device identifier.")
    return raw


def device_info_parse(header: str) -> dict[str, Any]:
    """Decode the header: standard or url-safe base64 (padding optional) of a UTF-8 JSON object."""
    text = header.strip()
    if not text or len(text) > MAX_HEADER_LENGTH:
        raise DeviceInfoError("X-Device-Info must be base64 of a JSON object.")
    raw = _base64_decode(text)
    if raw is None:
        raise DeviceInfoError("X-Device-Info is not valid base64.")
    try:
        value = untrusted_json.loads(raw)
    except ValueError:
        raise DeviceInfoError("X-Device-Info is not base64 of JSON.") from None
    if not isinstance(value, dict):
        raise DeviceInfoError("X-Device-Info must be base64 of a JSON object.")
    if not _storable(value):
        raise DeviceInfoError("X-Device-Info must not contain NUL characters or unpaired surrogates.")
    return value


def _storable(value: Any) -> bool:
    """Every string (keys too) is text PostgreSQL can store: no NUL (JSON "\u0000") and no unpaired
    surrogate (JSON "\ud800"), which json.loads accepts but jsonb and UTF-8 refuse. Iterative: the
    nesting can be thousands deep."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                return False
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True


# (pattern, platform), first match wins: the more specific devices before their operating systems.
_USER_AGENT_HINTS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), platform)
    for pattern, platform in (
        (r"\bAFT[A-Z0-9]*\b|Fire ?TV", "firetv"),
        (r"\bKF[A-Z]{2,}\b|Silk/|Fire ?OS", "fireos"),
        (r"\bRoku\b", "roku"),
        (r"Apple ?TV|tvOS", "tvos"),
        (r"CrKey|Chromecast", "chromecast"),
        (r"Android ?TV|\bBRAVIA\b|GoogleTV|\bSHIELD\b", "androidtv"),
        (r"Tizen|SMART-TV.*Samsung", "tizen"),
        (r"Web0S|webOS|NetCast", "webos"),
        (r"VIZIO|SmartCast", "vizio"),
        (r"Xbox", "xbox"),
        (r"PlayStation|PS[345]", "playstation"),
        (r"Android", "android"),
        (r"iPhone|iPad|iPod|\biOS\b|CFNetwork|Darwin", "ios"),
        (r"Mozilla/|Chrome/|Safari/|Firefox/|Edg/", "web"),
        (r"python-requests|curl/|okhttp|Go-http-client|Java/", "server"),
    )
)

# X-Device-Info osName / osFamily / manufacturer values, lowercased.
_OS_HINTS = {
    "ios": "ios",
    "ipados": "ios",
    "tvos": "tvos",
    "android": "android",
    "androidtv": "androidtv",
    "android tv": "androidtv",
    "fire os": "fireos",
    "fireos": "fireos",
    "roku": "roku",
    "roku os": "roku",
    "tizen": "tizen",
    "webos": "webos",
    "vizio": "vizio",
    "smartcast": "vizio",
    "xbox": "xbox",
    "playstation": "playstation",
    "orbis": "playstation",
    "chromecast": "chromecast",
    "cast": "chromecast",
}
_TV_HARDWARE = {"settopbox", "set-top box", "tv", "smarttv", "smart tv", "gameconsole", "mediaplayer"}


def platform_from_device_info(info: dict[str, Any]) -> str:
    """The platform code a device-info object describes, or "" when it says nothing we know."""

    def field(name: str) -> str:
        value = info.get(name)
        return value.strip().lower() if isinstance(value, str) else ""

    os_name = field("osName") or field("osFamily")
    hardware = field("primaryHardwareType").replace("_", "")
    manufacturer = field("manufacturer") or field("vendor")
    platform = _OS_HINTS.get(os_name, "")
    if platform == "android" and hardware in _TV_HARDWARE:
        platform = "androidtv"
    if platform in ("android", "fireos", "androidtv") and manufacturer == "amazon":
        platform = "firetv" if hardware in _TV_HARDWARE else "fireos"
    if not platform and field("browserName"):
        platform = "web"
    if not platform:
        platform = platform_from_user_agent(field("userAgent"))
    return platform


def platform_from_user_agent(user_agent: str) -> str:
    """The platform a User-Agent suggests, or "" when it suggests none."""
    if not user_agent:
        return ""
    for pattern, platform in _USER_AGENT_HINTS:
        if pattern.search(user_agent):
            return platform
    return ""


def platform_for_client(*, device_info: dict[str, Any] | None, user_agent: str, allowed: list[str]) -> str:
    """The platform recorded for a new client (and its usage rows): what the device says, else what
    the User-Agent says, else the application's only platform; "" when nothing tells."""
    hint = platform_from_device_info(device_info) if device_info else ""
    hint = hint or platform_from_user_agent(user_agent)
    if hint and (not allowed or hint in allowed):
        return hint
    if len(allowed) == 1:
        return allowed[0]
    return hint


def foreign_platform(device_info: dict[str, Any], allowed: Sequence[str]) -> str:
    """The platform X-Device-Info names when the application was not made for it (an abuse signal:
    `software_statements.signals`); "" when it names none, or one of `allowed`, or `allowed` is empty."""
    named = platform_from_device_info(device_info) if device_info else ""
    return named if named and allowed and named not in allowed else ""
