"""core.conf: our settings in one typed object, following override_settings."""

import pytest
from django.test import override_settings

from core.conf import DEFAULTS, DcrSettings, dcr


def test_a_read_follows_override_settings_and_comes_back():
    before = dcr.access_token_ttl
    with override_settings(DCR_ACCESS_TOKEN_TTL=120):
        assert dcr.access_token_ttl == 120
    assert dcr.access_token_ttl == before


def test_after_the_first_read_a_setting_is_a_plain_attribute():
    dcr.token_success_status  # noqa: B018 (the first read copies every value)
    assert vars(dcr)["token_success_status"] == dcr.token_success_status
    assert set(vars(dcr)) == {name for name in DcrSettings.__dataclass_fields__}


def test_a_setting_left_out_keeps_its_default(settings):
    del settings.DCR_EMBEDDED_SCHEDULER
    assert dcr.embedded_scheduler is DEFAULTS.embedded_scheduler is False


def test_lists_and_dicts_are_read_only(settings):
    settings.DCR_CLIENT_SECRET_KEYS = ["a" * 32]
    settings.DCR_ENVIRONMENT_HOSTS = {"release-staging": "api-staging.example.com"}
    assert dcr.client_secret_keys == ("a" * 32,)
    with pytest.raises(TypeError):
        dcr.environment_hosts["release-qa"] = "api-qa.example.com"  # type: ignore[index]


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError):
        dcr.no_such_setting  # type: ignore[attr-defined]  # noqa: B018


def test_keys_never_show_in_a_repr(settings):
    settings.DCR_KEY_ENCRYPTION_KEY = "k" * 44
    settings.DCR_CLIENT_SECRET_KEYS = ["c" * 32]
    settings.DCR_METRICS_TOKEN = "m" * 20
    settings.SECRET_KEY = "s" * 40
    shown = repr(DcrSettings.from_django())
    assert "k" * 44 not in shown and "c" * 32 not in shown and "m" * 20 not in shown and "s" * 40 not in shown
    assert "issuer=" in shown
