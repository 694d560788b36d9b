"""X-Device-Info parsing and platform hints (pure)."""

import base64
import json

import pytest

from oauth.device_info import (
    DeviceInfoError,
    device_info_parse,
    platform_for_client,
    platform_from_device_info,
    platform_from_user_agent,
)


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
