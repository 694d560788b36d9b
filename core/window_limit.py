"""A fixed-window counter in the cache (Redis when REDIS_URL is set, so every worker shares it; the
in-process cache on the embedded default): at most `limit` events per `key` in each `seconds`.

For rare, unauthenticated actions that must not be repeated without bound (password reset e-mails); the
hot paths throttle with the token bucket of `core.hot_store` instead."""

import hashlib
import logging

from django.core.cache import cache

logger = logging.getLogger(__name__)


def window_limit_key(kind: str, value: str) -> str:
    """A cache key for `value` (an e-mail address, say) that does not store the value itself."""
    return f"window-limit:{kind}:{hashlib.sha256(value.encode()).hexdigest()}"


def window_limit_take(key: str, *, limit: int, seconds: int) -> bool:
    """Count one event; False once more than `limit` were counted in the window (which starts at the first).

    An unreachable cache allows the event (logged): these limits guard against floods, and the action
    itself (queueing a task) needs Redis anyway when Redis is configured."""
    try:
        cache.add(key, 0, timeout=seconds)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr: a new window
            cache.add(key, 1, timeout=seconds)
            count = 1
    except Exception:
        logger.warning("window limit %s: the cache is unreachable; allowed", key.split(":")[1], exc_info=True)
        return True
    return count <= limit
