"""Hypothesis strategies for hostile input: JSON texts of the shapes that once answered 500 (nesting
past the recursion limit, non-finite numbers), JWS-looking strings with non-ASCII in any part, and
X-Device-Info headers built from both."""

import base64
import json

from hypothesis import strategies as st

NON_FINITE = ("NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1E400")


def b64url(text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
_values = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def deep_json() -> st.SearchStrategy[str]:
    """JSON (or JSON-like) text nested from a little to far past Python's recursion limit."""
    return st.one_of(
        st.integers(1, 2500).map(lambda n: "[" * n + "]" * n),
        st.integers(1, 2500).map(lambda n: '{"a":' * n + "1" + "}" * n),
        # Unbalanced: the parser must give up cleanly, not recurse to the end.
        st.integers(900, 3000).map(lambda n: "[" * n),
        st.integers(1, 1200).map(lambda n: '{"software_statement":' + "[" * n + "]" * n + "}"),
    )


def non_finite_json() -> st.SearchStrategy[str]:
    """Objects carrying a number Python's json accepts and JSON (and PostgreSQL's jsonb) does not."""
    return st.builds(
        lambda word, base: json.dumps(base)[:-1] + (", " if base else "") + f'"n": {word}' + "}",
        st.sampled_from(NON_FINITE),
        st.sampled_from([{}, {"alg": "ES256", "kid": "k", "typ": "at+jwt"}, {"osName": "iOS"}]),
    )


def json_texts() -> st.SearchStrategy[str]:
    return st.one_of(deep_json(), non_finite_json(), _values.map(json.dumps), st.text(max_size=40))


def _part(access_header: st.SearchStrategy[str] | None) -> st.SearchStrategy[str]:
    parts = [
        json_texts().map(b64url),
        st.text(max_size=40),
        st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", max_size=60),
        st.sampled_from(["é", "\xc3\xa9", "\u2603", "\ud7ff", "\x00", "A\x80"]),
    ]
    if access_header is not None:
        parts.append(access_header)
    return st.one_of(*parts)


def jws_like(access_header: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[str]:
    """Compact-JWS-looking strings: three parts most of the time, each hostile in its own way.
    `access_header` adds a real header (a known `kid`), so checks past the key lookup are reached."""
    part = _part(access_header)
    three = st.tuples(part, part, part).map(".".join)
    other = st.lists(part, min_size=1, max_size=6).map(".".join)
    return st.one_of(three, three, three, other).filter(lambda token: 0 < len(token.strip()) < 8000)


def device_info_headers() -> st.SearchStrategy[str]:
    """X-Device-Info values: base64 (standard or url-safe) of hostile JSON, or not base64 at all."""
    return st.one_of(
        json_texts().map(lambda text: base64.b64encode(text.encode("utf-8", "surrogatepass")).decode()),
        json_texts().map(b64url),
        st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", max_size=80),
    ).filter(lambda header: 0 < len(header.strip()) <= 8000)
