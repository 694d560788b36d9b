"""core.untrusted_json: what it refuses (depth, non-finite numbers, encodings other than UTF-8) and what
it keeps accepting (brackets inside strings, escaped quotes, ordinary nesting)."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.untrusted_json import MAX_DEPTH, UntrustedJSONError, loads


@pytest.mark.parametrize(
    "text",
    [
        "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),
        '{"a":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1),
        "[" * 100000,
        "NaN",
        '{"a": Infinity}',
        "[-Infinity]",
        "1e999",
        '{"a": -1e400}',
        '{"a": 1}'.encode("utf-16"),
        b"\xff{}",
    ],
)
def test_refused(text):
    with pytest.raises(UntrustedJSONError):
        loads(text)


@pytest.mark.parametrize(
    "text",
    [
        "[" * MAX_DEPTH + "]" * MAX_DEPTH,
        '{"a": "' + "[" * 1000 + '"}',
        '{"a": "\\"[[[[' + "{" * 100 + '"}',
        '{"a": 1e308, "b": -0.0, "c": 12345678901234567890}',
    ],
)
def test_accepted_as_json_reads_it(text):
    assert loads(text) == json.loads(text)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(), lambda c: st.lists(c, max_size=3)))
def test_anything_json_dumps_within_the_depth_reads_back(value):
    text = json.dumps(value)
    depth = text.count("[") - sum(s.count("[") for s in _strings(value))
    if depth <= MAX_DEPTH:
        assert loads(text) == value


def _strings(value):
    if isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield json.dumps(value)
