"""oauth.http.form_pairs: its shortcut for bodies that escape nothing gives what parse_qsl gives, and
refuses what parse_qsl refuses."""

from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oauth.http import MAX_FORM_FIELDS, form_pairs


def _reference(body: bytes) -> list[tuple[str, str]]:
    return parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, encoding="utf-8",
                     errors="strict", max_num_fields=MAX_FORM_FIELDS)  # fmt: skip


# The shortcut's inputs (ASCII without % or +) weighted towards the characters that structure a form.
_plain = st.text(alphabet=st.sampled_from("ab=&;=&_-.~ 0Z\t\x00\x7f"), max_size=80).map(str.encode)


@given(_plain)
def test_a_body_that_escapes_nothing_parses_as_parse_qsl_parses_it(body):
    try:
        expected = _reference(body)
    except ValueError:
        with pytest.raises(ValueError):
            form_pairs(body)
        return
    assert form_pairs(body) == expected


@given(st.binary(max_size=60))
def test_any_body_parses_or_fails_as_parse_qsl_does(body):
    try:
        expected = _reference(body)
    except ValueError as exc:  # UnicodeDecodeError is a ValueError
        with pytest.raises(type(exc)):
            form_pairs(body)
        return
    assert form_pairs(body) == expected


def test_the_field_limit_is_parse_qsl_s():
    at_limit = "&".join(f"f{i}=v" for i in range(MAX_FORM_FIELDS)).encode()
    assert len(form_pairs(at_limit)) == MAX_FORM_FIELDS
    with pytest.raises(ValueError):
        form_pairs(at_limit + b"&one=more")
    with pytest.raises(ValueError):
        _reference(at_limit + b"&one=more")


def test_a_credentials_form_is_split_without_decoding():
    body = b"grant_type=client_credentials&client_id=abc-DEF_123.~&client_secret=s3cr3t&scope="
    assert form_pairs(body) == [
        ("grant_type", "client_credentials"), ("client_id", "abc-DEF_123.~"), ("client_secret", "s3cr3t"), ("scope", "")
    ]  # fmt: skip
