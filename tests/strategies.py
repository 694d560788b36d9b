"""Hypothesis strategies for hostile input: JSON texts of the shapes that once answered 500 (nesting
past the recursion limit, non-finite numbers), JWS-looking strings with non-ASCII in any part,
X-Device-Info headers built from both, and the requests of the /o/client/* endpoints (form bodies,
Authorization headers, JSON registration bodies, Content-Type and Accept values)."""

import base64
import json
from typing import Any
from urllib.parse import quote_plus

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


# --- The /o/client/* requests: form bodies, Authorization, JSON registration bodies, media types ------

# Percent-escapes a form parser must survive: truncated, not hex, NUL, overlong and surrogate UTF-8.
PERCENT_GARBAGE = ("%", "%%", "%2", "%zz", "%FF", "%C3%28", "%00", "%E2%82", "%ED%A0%80", "%C0%AF", "+%+", "%u00e9")
FORM_NAMES = ("grant_type", "client_id", "client_secret", "scope", "token", "token_type_hint")
MAX_BODY = 64 * 1024

# Header values arrive through WSGI as latin-1 decoded text (PEP 3333), so any code point up to U+00FF.
_latin1 = st.characters(max_codepoint=0xFF)
# Text whose characters, once percent-encoded (surrogates passed through), are not UTF-8.
_any_text = st.text(st.characters(blacklist_categories=()), max_size=24)


def _quoted(text: str) -> bytes:
    return quote_plus(text, encoding="utf-8", errors="surrogatepass").encode()


def _hostile_form_value() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.just(b""),
        _any_text.map(_quoted),
        st.binary(max_size=24),  # raw: '&', '=', non-UTF-8 bytes and NUL unescaped
        st.sampled_from(PERCENT_GARBAGE).map(str.encode),
        st.sampled_from([b"\x00", b"%00", b"a%00b", b"\xff\xfe", b"\xc3(", b"\xed\xa0\x80"]),
        st.integers(513, 2048).map(lambda n: b"x" * n),  # longer than any secret or id we accept
        st.sampled_from([MAX_BODY - 16, MAX_BODY + 1, 2 * MAX_BODY]).map(lambda n: b"A" * n),
        st.sampled_from(["client_credentials", "password", "CLIENT_CREDENTIALS", "api:client:v2", "a  b"]).map(_quoted),
    )


def _form_name(names: tuple[str, ...]) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.sampled_from(names).map(str.encode),
        st.sampled_from(names).map(lambda name: name.upper().encode()),
        _any_text.map(_quoted),
        st.sampled_from(PERCENT_GARBAGE).map(str.encode),
        st.just(b""),
    )


@st.composite
def form_bodies(
    draw: st.DrawFn, names: tuple[str, ...] = FORM_NAMES, real: dict[str, st.SearchStrategy[str]] | None = None
) -> bytes:
    """application/x-www-form-urlencoded bodies for token, introspect and revoke: parameters repeated,
    missing, empty, huge, with NUL, non-UTF-8 or percent-encoded garbage. `real` maps a parameter to
    values that pass (real credentials, a real token), so that the checks behind the first are reached."""
    real = real or {}
    good = {name: strategy.map(_quoted) for name, strategy in real.items()}
    pairs: list[bytes] = []
    # Most bodies start from the real parameters (some dropped), then add hostile ones.
    for name, strategy in good.items():
        if draw(st.integers(0, 3)):
            pairs.append(name.encode() + b"=" + draw(strategy))
    for _ in range(draw(st.integers(0, 5))):
        name = draw(_form_name(names))
        decoded = name.decode("utf-8", "replace")
        value = draw(good[decoded] | _hostile_form_value() if decoded in good else _hostile_form_value())
        separator = draw(st.sampled_from([b"=", b"=", b"=", b"", b"=="]))
        pairs.append(name + separator + value)
    pairs = draw(st.permutations(pairs))
    glue = draw(st.sampled_from([b"&", b"&", b"&&", b";"]))
    return glue.join(pairs)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def authorization_headers(real_basic: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[str]:
    """Authorization values: Basic with odd base64 (bad padding and alphabet, no colon, non-UTF-8,
    percent garbage, empty parts), Bearer with JWS-looking tokens, other schemes, non-ASCII (latin-1)."""
    credentials = st.one_of(
        st.tuples(_any_text, _any_text).map(lambda pair: f"{pair[0]}:{pair[1]}".encode("utf-8", "surrogatepass")),
        st.binary(max_size=40),
        st.sampled_from([b":", b"id:", b":secret", b"no-colon", b"%zz:%", b"a%00:b", b"\xff:\xfe", b"\xc3(:x"]),
        st.integers(256, 4000).map(lambda n: b"i:" + b"s" * n),
    )
    basic = st.one_of(
        credentials.map(lambda raw: "Basic " + _b64(raw)),
        credentials.map(lambda raw: "Basic " + _b64(raw).rstrip("=")),  # padding dropped
        credentials.map(lambda raw: "Basic " + base64.urlsafe_b64encode(raw).decode()),  # wrong alphabet
        credentials.map(lambda raw: "basic   " + _b64(raw) + "  "),
        st.text(_latin1, max_size=40).map(lambda text: "Basic " + text),
        st.sampled_from(["Basic", "Basic ", "Basic =", "Basic ====", "Basic Zg", "Basic Zm9v:", "Basic\tZm9vOmJhcg=="]),
    )
    schemes = st.one_of(
        jws_like().map(lambda token: "Bearer " + token),
        st.sampled_from(["Bearer", "Bearer ", "bearer x.y.z", "Digest username=x", "Negotiate YII=", "Token abc"]),
        st.tuples(st.text(_latin1, min_size=1, max_size=12), st.text(_latin1, max_size=40)).map(" ".join),
        st.sampled_from(["Basic é", "Bàsic Zm9vOmJhcg==", "Basic Zm9v\xff", "\x00Basic Zm9v", "Basic Zm9v\x00"]),
    )
    options = [basic, schemes]
    if real_basic is not None:
        options.append(real_basic)
        options.append(real_basic.map(lambda header: header.lower()))
    return st.one_of(*options)


_WRONG_TYPES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.text(max_size=4), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
    st.just(""),
)


def _with_repeated_key(body: dict[str, Any], key: str, other: Any) -> str:
    """JSON text naming `key` twice (json.dumps cannot write that)."""
    text = json.dumps(body)
    extra = f"{json.dumps(key)}: {json.dumps(other)}"
    return "{" + extra + (", " + text[1:] if body else "}")


@st.composite
def registration_bodies(draw: st.DrawFn, statement: st.SearchStrategy[str] | None = None) -> bytes:
    """POST /o/client/register bodies: members of wrong types, repeated keys, deep nesting, non-finite
    numbers, non-objects, other encodings (UTF-16, BOM, not UTF-8), empty and over 64 KiB. With a real
    `statement`, some bodies are otherwise valid, so the checks after verification are reached too."""
    statements = st.one_of(jws_like(), _WRONG_TYPES, *([statement, statement] if statement is not None else []))
    body: dict[str, Any] = {}
    if draw(st.integers(0, 5)):
        body["software_statement"] = draw(statements)
    if draw(st.booleans()):
        body["redirect_uri"] = draw(
            st.one_of(_WRONG_TYPES, st.text(max_size=30), st.sampled_from(["https://example.com/cb", "javascript:x"]))
        )
    for name, value in draw(st.dictionaries(st.text(max_size=8), _values, max_size=2)).items():
        body.setdefault(name, value)
    shaped = draw(
        st.one_of(
            st.just(json.dumps(body)),
            st.just(json.dumps(body)),
            st.just(json.dumps(body, ensure_ascii=False)),
            st.tuples(st.sampled_from(["software_statement", "redirect_uri"]), statements).map(
                lambda pair: _with_repeated_key(body, *pair)
            ),
            non_finite_json(),
            deep_json(),
            st.sampled_from(["", " ", "[]", "null", "1", '"software_statement"', "{", "{}", "{}{}", "\ufeff{}"]),
            st.sampled_from(NON_FINITE).map(lambda word: json.dumps(body)[:-1] + ', "n": ' + word + "}"),
        )
    )
    encoding = draw(st.sampled_from(["utf-8"] * 6 + ["utf-8-sig", "utf-16", "utf-32", "latin-1"]))
    raw = shaped.encode(encoding, "surrogatepass") if encoding != "latin-1" else shaped.encode("latin-1", "replace")
    return draw(
        st.one_of(
            st.just(raw),
            st.just(raw),
            st.just(raw),
            st.binary(max_size=40),
            st.just(raw + b" " * (MAX_BODY + 1 - len(raw)) if len(raw) <= MAX_BODY else raw),
        )
    )


def content_types(expected: str) -> st.SearchStrategy[str]:
    """Content-Type values around `expected`: charsets, case, parameters, other types, garbage."""
    other = "application/json" if expected != "application/json" else "application/x-www-form-urlencoded"
    return st.one_of(
        st.just(expected),
        st.just(expected),
        st.sampled_from(["utf-8", "UTF-8", '"utf-8"', "latin-1", "utf-16", "", "x" * 300]).map(
            lambda charset: f"{expected}; charset={charset}"
        ),
        st.just(expected.upper()),
        st.just(f" {expected} ;;; a=b; =; charset"),
        st.sampled_from([other, "text/plain", "text/html", "multipart/form-data; boundary=x", "application/*", ""]),
        st.text(_latin1, max_size=40),
    )


def accept_headers() -> st.SearchStrategy[str | None]:
    """Accept values (None: no header): JSON allowed or not, odd q-values, garbage."""
    return st.one_of(
        st.none(),
        st.sampled_from(
            [
                "*/*",
                "application/json",
                "application/*;q=0.1",
                "text/html",
                "application/json;q=0",
                "application/json;q=nan",
                "application/json;q=inf",
                "application/json;q=-1",
                "application/json;q=1e999",
                "application/json;q=",
                "text/html, application/json;q=0.5",
                ",,,;;;",
                "*/*;q=0",
                "application/json" + ", text/html" * 500,
            ]
        ),
        st.text(_latin1, max_size=40),
    )


# --- The device headers of the protected API ----------------------------------------------------------


@st.composite
def device_identifier_headers(draw: st.DrawFn) -> tuple[str, bytes]:
    """Well-formed `AP-Device-Identifier` values written every way the grammar allows (the type in any case,
    spaces or tabs, standard or url-safe base64, with or without padding), with the identifier they carry."""
    identifier = draw(st.binary(min_size=1, max_size=96))
    kind = "".join(draw(st.sampled_from((c, c.upper()))) for c in "fingerprint")
    encoded = (base64.urlsafe_b64encode if draw(st.booleans()) else base64.b64encode)(identifier).decode()
    if draw(st.booleans()):
        encoded = encoded.rstrip("=")
    separator = draw(st.text(" \t", min_size=1, max_size=3))
    outer = draw(st.text(" \t", max_size=2))
    return outer + kind + separator + encoded + outer, identifier


def hostile_device_identifier_headers() -> st.SearchStrategy[str]:
    """Anything a header can carry, and near misses of the grammar: another type, no identifier, three
    parts, base64 that is not, an empty identifier, and far too long."""
    return st.one_of(
        st.text(_latin1, max_size=60),
        st.builds(
            lambda kind, rest: f"{kind} {rest}",
            st.sampled_from(["fingerprint", "uuid", "FP", ""]),
            st.text(_latin1, max_size=40),
        ),
        st.builds(
            lambda a, b: f"fingerprint {a} {b}",
            st.text("ABCabc012+/=", min_size=1, max_size=8),
            st.text("ABC=", min_size=1, max_size=4),
        ),
        st.sampled_from(
            [
                "fingerprint",
                "fingerprint ",
                "fingerprint =",
                "fingerprint ====",
                "fingerprint A",
                "fingerprint " + "A" * 2000,
            ]
        ),
    )
