"""The device headers (X-Device-Info, AP-Device-Identifier) and platform hints (pure)."""

import base64
import json

import pytest
from hypothesis import given, settings

from oauth.device_info import (
    DeviceIdentifierError,
    DeviceInfoError,
    device_identifier_parse,
    device_info_parse,
    platform_for_client,
    platform_from_device_info,
    platform_from_user_agent,
)
from tests.strategies import device_identifier_headers, hostile_device_identifier_headers


def encode(value, urlsafe=False, padding=True) -> str:
    raw = json.dumps(value).encode()
    text = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(raw).decode()
    return text if padding else text.rstrip("=")


@pytest.mark.parametrize("urlsafe", [False, True])
@pytest.mark.parametrize("padding", [False, True])
def test_standard_and_url_safe_base64_with_or_without_padding(urlsafe, padding):
    value = {"osName": "iOS", "model": "iPhone15,2", "note": "??>>~~"}
    assert device_info_parse(encode(value, urlsafe, padding)) == value


@pytest.mark.parametrize(
    "header",
    [
        "",
        "   ",
        "a",
        "!!!!",
        "abc$",
        base64.b64encode(b"plain text").decode(),
        base64.b64encode(b"[1, 2]").decode(),
        base64.b64encode(b"null").decode(),
        base64.b64encode(b"42").decode(),
        base64.b64encode(b'{"a": 1').decode(),
        base64.b64encode(b"\xff\xfe\x00").decode(),
        "A" * 9000,
    ],
)
def test_anything_but_base64_of_a_json_object_is_refused(header):
    with pytest.raises(DeviceInfoError):
        device_info_parse(header)


@pytest.mark.parametrize(
    "info,platform",
    [
        ({"osName": "iOS"}, "ios"),
        ({"osName": "iPadOS"}, "ios"),
        ({"osName": "tvOS"}, "tvos"),
        ({"osName": "Android"}, "android"),
        ({"osName": "Android", "primaryHardwareType": "SetTopBox"}, "androidtv"),
        ({"osName": "Android", "manufacturer": "Amazon", "primaryHardwareType": "SetTopBox"}, "firetv"),
        ({"osName": "Fire OS", "manufacturer": "Amazon"}, "fireos"),
        ({"osFamily": "Roku"}, "roku"),
        ({"osName": "Tizen"}, "tizen"),
        ({"osName": "webOS"}, "webos"),
        ({"osName": "Xbox"}, "xbox"),
        ({"browserName": "Firefox"}, "web"),
        ({"userAgent": "Roku/DVP-12.0"}, "roku"),
        ({"osName": 42}, ""),
        ({}, ""),
    ],
)
def test_platform_from_device_info(info, platform):
    assert platform_from_device_info(info) == platform


@pytest.mark.parametrize(
    "user_agent,platform",
    [
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15", "ios"),
        ("MyPlayer/3.1 CFNetwork/1494.0.7 Darwin/23.4.0", "ios"),
        ("AppleTV11,1/11.1", "tvos"),
        ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/124 Mobile", "android"),
        ("Mozilla/5.0 (Linux; Android 9; AFTMM Build/PS7233) AppleWebKit/537.36", "firetv"),
        ("Mozilla/5.0 (Linux; Android 11; KFTRWI) AppleWebKit/537.36 Silk/120", "fireos"),
        ("Roku/DVP-12.0 (12.0.0.4182-88)", "roku"),
        ("Mozilla/5.0 (SMART-TV; LINUX; Tizen 7.0) AppleWebKit/537.36 Samsung", "tizen"),
        ("Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36", "webos"),
        ("Mozilla/5.0 (X11; Linux armv7l) CrKey/1.56.500000", "chromecast"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox One) Edge/44", "xbox"),
        ("Mozilla/5.0 (PlayStation; PlayStation 5/6.50) AppleWebKit/605.1.15", "playstation"),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) Safari/605.1.15", "web"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0 Safari/537.36", "web"),
        ("python-requests/2.32", "server"),
        ("", ""),
        ("SomethingElse/1.0", ""),
    ],
)
def test_platform_from_user_agent(user_agent, platform):
    assert platform_from_user_agent(user_agent) == platform


def test_platform_for_client_prefers_the_device_then_the_only_platform():
    assert platform_for_client(device_info={"osName": "tvOS"}, user_agent="", allowed=["ios", "tvos"]) == "tvos"
    assert platform_for_client(device_info=None, user_agent="Roku/DVP", allowed=["ios", "roku"]) == "roku"
    assert platform_for_client(device_info=None, user_agent="", allowed=["roku"]) == "roku"
    assert platform_for_client(device_info={"osName": "tvOS"}, user_agent="", allowed=["ios"]) == "ios"
    assert platform_for_client(device_info=None, user_agent="", allowed=["ios", "roku"]) == ""


# --- AP-Device-Identifier (REST API v2: `fingerprint <base64>`) ------------------------------------------


def test_the_originals_example_device_identifier_is_read():
    header = "fingerprint YmEyM2QxNDEtZDcxNS01NjFjLTk0ZjQtZTllNGM5NjZiMWVi"
    assert device_identifier_parse(header) == b"ba23d141-d715-561c-94f4-e9e4c966b1eb"


@pytest.mark.parametrize(
    "header",
    [
        "",
        "fingerprint",
        "fingerprint ",
        "YmEyM2QxNDE=",
        "uuid YmEyM2QxNDE=",
        "fingerprint YmEy YmEy",
        "fingerprint YmEy!",
        "fingerprint A",
        "fingerprint ====",
        "fingerprint=YmEy",
        "fingerprint\u00a0YmEy",
        "fingerprint " + "A" * 2000,
    ],
)
def test_anything_but_fingerprint_and_base64_is_refused(header):
    with pytest.raises(DeviceIdentifierError):
        device_identifier_parse(header)


@settings(max_examples=300, deadline=None)
@given(written=device_identifier_headers())
def test_every_way_of_writing_a_device_identifier_reads_the_same_identifier(written):
    header, identifier = written
    assert device_identifier_parse(header) == identifier


def _oracle(header: str) -> bytes | None:
    """The grammar read another way: two fields split by spaces or tabs, `fingerprint` in any case, the
    second base64 in either alphabet once padded; None when that is not what the header is."""
    fields = header.replace("\t", " ").split(" ")
    fields = [field for field in fields if field]
    if len(fields) != 2 or fields[0].lower() != "fingerprint" or len(header) > 1024:
        return None
    encoded = fields[1].rstrip("=")
    if not encoded or len(fields[1]) - len(encoded) > 2 or any(c not in _BASE64_ALPHABET for c in encoded):
        return None
    try:
        decoded = base64.urlsafe_b64decode(encoded.replace("+", "-").replace("/", "_") + "=" * (-len(encoded) % 4))
    except ValueError:
        return None
    return decoded or None


_BASE64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_")


@settings(max_examples=500, deadline=None)
@given(header=hostile_device_identifier_headers() | device_identifier_headers().map(lambda written: written[0]))
def test_any_header_reads_as_the_grammar_says_or_is_refused_with_its_own_error(header):
    expected = _oracle(header)
    try:
        found = device_identifier_parse(header)
    except DeviceIdentifierError:
        found = None
    assert found == expected
