"""Celery (README "Background tasks"): Redis is broker and result backend (through the sentinels with
REDIS_SENTINELS), and the beat schedule of the periodic tasks."""

from .env import env
from .redis_cache import REDIS_SENTINEL_SERVICE, REDIS_SENTINELS, REDIS_URL
from .service import DCR_USAGE_FLUSH_SECONDS
from .signals import DCR_SIGNAL_SECONDS

# Redis is broker and result backend; without REDIS_URL every task runs eagerly in-process.
# Eager tasks still borrow a producer from the broker's pool (to serialise their arguments): a memory:// URL
# without a host made kombu warn "No hostname was supplied" on each one.
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = REDIS_URL or None
if REDIS_SENTINELS:
    # kombu's and Celery's sentinel:// transports: "sentinel://[:password@]host:port/db;...", with REDIS_URL's
    # password and database, and master_name in both transport options (below).
    _redis_auth, _, _redis_place = REDIS_URL.partition("://")[2].rpartition("@")
    _redis_db = _redis_place.partition("/")[2] or "0"
    CELERY_BROKER_URL = CELERY_RESULT_BACKEND = ";".join(
        f"sentinel://{_redis_auth + '@' if _redis_auth else ''}{sentinel.strip()}/{_redis_db}"
        for sentinel in REDIS_SENTINELS
    )
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_RESULT_EXTENDED = True
CELERY_TASK_TRACK_STARTED = True
# Acknowledge after the task ran, and hand the message back when the worker process dies: a task
# interrupted by a crash runs again (every task is idempotent).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
# A message unacknowledged this long (its worker died with it) is delivered again; it must stay
# longer than the slowest task. Lower it in tests to see a killed worker's task come back quickly.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "unacked_restore_interval": min(10, max(1, CELERY_VISIBILITY_TIMEOUT // 4)),
    "unacked_restore_throttle": 1,
    # A web request publishing a task while Redis is down must fail fast (callers log and go on).
    "socket_connect_timeout": 1.0,
    "socket_timeout": 5.0,
    "max_retries": 1,
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"socket_connect_timeout": 1.0, "socket_timeout": 5.0}
if REDIS_SENTINELS:
    CELERY_BROKER_TRANSPORT_OPTIONS["master_name"] = REDIS_SENTINEL_SERVICE
    CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS["master_name"] = REDIS_SENTINEL_SERVICE
CELERY_BROKER_CONNECTION_TIMEOUT = 1.0
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True

# Every DCR_USAGE_FLUSH_SECONDS the usage counters leave Redis for the daily rows (service.py).
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "usage-flush": {"task": "oauth.usage_flush", "schedule": float(DCR_USAGE_FLUSH_SECONDS)},
    # The abuse signals' counters into hourly rows, then the signals raised from them (README "Abuse signals").
    "signals-compute": {"task": "oauth.signals_compute", "schedule": float(DCR_SIGNAL_SECONDS)},
    # Brings back a stamp lost while Redis was down, within a minute of Redis returning.
    "revocation-stamps-republish": {"task": "oauth.revocation_stamps_republish", "schedule": 60.0},
    "denied-tokens-purge": {"task": "oauth.denied_tokens_purge", "schedule": 3600.0},
    "clients-mark-idle": {"task": "oauth.clients_mark_idle", "schedule": 6 * 3600.0},
    "clients-purge-idle": {"task": "oauth.clients_purge_idle", "schedule": 24 * 3600.0},
    "usage-flush-ledger-purge": {"task": "oauth.usage_flush_ledger_purge", "schedule": 24 * 3600.0},
    "audit-events-purge": {"task": "registered_apps.audit_events_purge", "schedule": 24 * 3600.0},
    # Checks hourly; rotates a purpose only when its active key is DCR_KEY_ROTATION_DAYS old.
    "signing-keys-rotate-due": {"task": "software_statements.signing_keys_rotate_due", "schedule": 3600.0},
}
# A periodic run nobody picked up before the next one is due is dropped, not queued up behind it.
for _entry in CELERY_BEAT_SCHEDULE.values():
    _entry["options"] = {"expires": _entry["schedule"]}
