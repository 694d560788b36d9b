"""Our own settings, typed, with their defaults in one place: `dcr.<name>`.

`DcrSettings` lists every setting of ours the code reads (the `DCR_*` ones, and the few others it reads
without Django defining them), each with its default. Each field is read from the Django setting
`DCR_<NAME>` (or the name in its metadata): the settings modules (`dcr_project/settings/`) set them
from the environment, taking their defaults from `DEFAULTS` here, and tests change them with
`override_settings(DCR_...=...)` as before.

`dcr` is the one accessor. Its attributes are plain instance attributes copied from a `DcrSettings`
read from Django's settings on first use, and forgotten on every `setting_changed` (so
`override_settings` is followed at once): a read on the hot paths is an attribute read, not a trip
through `LazySettings`.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, cast

from django.conf import settings

from . import process_state


def _named(setting: str, default: Any, *, secret: bool = False) -> Any:
    """A field read from the Django setting `setting` rather than DCR_<NAME>."""
    return field(default=default, metadata={"setting": setting}, repr=not secret)


def _secret(default: Any) -> Any:
    """A field never shown by repr() (an error report's local variables, a log line): it is a key."""
    return field(default=default, repr=False)


@dataclass(frozen=True, slots=True)
class DcrSettings:
    # --- The service (README "Configuration") ----------------------------------------------------------
    issuer: str = "http://127.0.0.1:8000"
    # slug -> host serving that environment's API (registered_apps.environments).
    environment_hosts: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    access_token_ttl: int = 21600
    # 200 (RFC 6749 5.1) or 201 (README "Standard clients").
    token_success_status: int = 200
    statement_algorithm: str = "RS256"
    access_token_algorithm: str = "ES256"
    throttle_rate: float = 1.0
    throttle_burst: float = 10.0
    # Per-application quotas (README "Quotas"): the default of an application whose own value is unset;
    # 0 means no limit. Generous: a TAM tightens one application's (a leaked statement) or raises it.
    quota_registrations_per_hour: int = 10_000
    quota_tokens_per_hour: int = 1_000_000
    quota_tokens_per_day: int = 10_000_000
    trusted_proxies: int = 0
    local_cache_entries: int = 20000
    revocation_stamp_cache: float = 0.25
    key_encryption_key: str = _secret("")
    client_secret_keys: tuple[str, ...] = _secret(())
    rotated_secret_grace: int = 3600
    client_idle_days: int = 365
    client_purge_days: int = 400
    audit_retention_days: int = 0
    key_rotation_days: int = 0
    usage_flush_seconds: int = 60
    # The embedded default's in-process usage flush (oauth.embedded); local settings turn it on.
    embedded_scheduler: bool = False
    metrics_enabled: bool = False
    metrics_token: str = _secret("")
    request_log: bool = True
    # --- Abuse signals (software_statements.signals; dcr_project/settings/signals.py) --------------------
    signal_seconds: int = 60
    signal_baseline_days: int = 7
    signal_surge_factor: float = 5.0
    signal_surge_min: int = 100
    signal_foreign_min: int = 20
    signal_foreign_share: float = 0.2
    signal_network_min: int = 50
    signal_one_token_min: int = 50
    signal_one_token_share: float = 0.8
    signal_one_token_wait: int = 25200
    signal_critical_factor: float = 4.0
    # --- Sign-in protection ----------------------------------------------------------------------------
    # DCR_SIGN_IN_LOCKOUT, DCR_SIGN_IN_FAILURE_LIMIT and DCR_TOTP_ISSUER become django-axes' and
    # django-otp's own settings (dcr_project/settings/sign_in.py).
    sign_in_lockout: bool = _named("AXES_ENABLED", True)
    sign_in_failure_limit: int = _named("AXES_FAILURE_LIMIT", 5)
    sign_in_cooloff_minutes: int = 15
    password_reset_limit: int = 3
    password_reset_window_seconds: int = 3600
    totp_issuer: str = _named("OTP_TOTP_ISSUER", "DCR Registry")
    # --- Redis, and settings of libraries that Django does not define -------------------------------------
    redis_url: str = _named("REDIS_URL", "")
    redis_sentinels: tuple[str, ...] = _named("REDIS_SENTINELS", ())
    redis_sentinel_service: str = _named("REDIS_SENTINEL_SERVICE", "dcr")
    redis_cluster_nodes: str = _named("REDIS_CLUSTER_NODES", "")
    content_security_policy: Mapping[str, Any] | None = _named("CONTENT_SECURITY_POLICY", None)
    content_security_policy_report_only: Mapping[str, Any] | None = _named("CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
    celery_task_default_queue: str = _named("CELERY_TASK_DEFAULT_QUEUE", "celery")
    # Django's own, read here too because the client-secret HMAC (oauth.hashers) needs them on every
    # token request, where LazySettings costs a microsecond a read.
    secret_key: str = _named("SECRET_KEY", "", secret=True)
    secret_key_fallbacks: tuple[str, ...] = _named("SECRET_KEY_FALLBACKS", (), secret=True)

    @classmethod
    def from_django(cls) -> "DcrSettings":
        """The values Django's settings hold now (a setting left out keeps its default here)."""
        values: dict[str, Any] = {}
        for spec in fields(cls):
            name = spec.metadata.get("setting", f"DCR_{spec.name.upper()}")
            if hasattr(settings, name):
                values[spec.name] = _frozen(getattr(settings, name))
        return cls(**values)


def _frozen(value: Any) -> Any:
    """Lists as tuples and dicts as read-only mappings: a settings object nobody can change in place."""
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, dict):
        return MappingProxyType(value)
    return value


DEFAULTS = DcrSettings()
"""Every default, for the settings modules (`env.int("DCR_X", default=DEFAULTS.x)`)."""


class _Current:
    """`dcr`: the current `DcrSettings`' values as plain attributes, read from Django's settings on the
    first read after a change (`__getattr__` runs only for a name not copied yet)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        current = DcrSettings.from_django()
        values = {spec.name: getattr(current, spec.name) for spec in fields(current)}
        if name not in values:
            raise AttributeError(name)
        self.__dict__.update(values)
        return values[name]

    def clear(self) -> None:
        self.__dict__.clear()


# Typed as the dataclass: `dcr.access_token_ttl` is an int to mypy, an attribute read at run time.
# Registered before any cache (core.local_caches imports this module), so on a settings change it is
# forgotten first and a cache emptied after it reads its new size.
dcr = cast(DcrSettings, process_state.register("settings", _Current(), settings=process_state.ANY))
