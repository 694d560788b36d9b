"""Fuzz target: oauth.device_info.device_info_parse (X-Device-Info) and what registration does with its
result. Invariant: DeviceInfoError (a ValueError) or a dict that JSON, PostgreSQL's jsonb and the
platform hints all accept.

    make fuzz FUZZ_TARGETS=device_info FUZZ_SECONDS=60
"""

import base64
import json
import sys

import atheris

from tests.fuzz.harness import INSTRUMENTED, run

with atheris.instrument_imports(include=INSTRUMENTED):
    from oauth.device_info import DeviceInfoError, device_info_parse, platform_for_client

_ENCODINGS = (
    lambda raw: base64.b64encode(raw).decode(),
    lambda raw: base64.urlsafe_b64encode(raw).decode().rstrip("="),
    lambda raw: base64.b64encode(raw).decode().rstrip("="),
    lambda raw: raw.decode("latin-1"),  # the header as sent, not base64 at all
)


def header_from(data: bytes) -> str:
    """The first byte picks how the rest becomes a header: base64 of it (so the mutations reach JSON
    parsing), or the bytes themselves as latin-1 text (as WSGI hands headers over)."""
    if not data:
        return ""
    return _ENCODINGS[data[0] % len(_ENCODINGS)](data[1:])


def target(data: bytes) -> None:
    header = header_from(data)
    try:
        info = device_info_parse(header)
    except DeviceInfoError:
        return
    assert isinstance(info, dict)
    # What registration stores (a jsonb column) and derives (the platform) must not fail either.
    json.dumps(info, allow_nan=False).encode("utf-8")
    platform_for_client(device_info=info, user_agent="", allowed=["ios", "android"])


_FIRE_TV = {"osName": "Fire OS", "manufacturer": "Amazon", "primaryHardwareType": "TV"}
SEEDS = {
    "ios": b"\x00" + json.dumps({"osName": "iOS", "primaryHardwareType": "Mobile"}).encode(),
    "firetv": b"\x01" + json.dumps(_FIRE_TV).encode(),
    "nested": b"\x00" + b'{"a": [[[{"b": "\\u00e9"}]]], "n": 1.5e10}',
    "non-finite": b"\x02" + b'{"screen": NaN}',
    "raw": b"\x03eyJvc05hbWUiOiAiaU9TIn0=",
}

if __name__ == "__main__":
    run(target, SEEDS)
    sys.exit(0)
