"""The store in Redis Cluster (REDIS_CLUSTER_NODES): `RedisStore`'s scripts, each on one hash slot.

Where everything lives. A Lua script may only touch keys of one slot, so the keys are grouped into
`SHARDS` shards, shard n being the hash tag `{<TAGS[n]>}` (tags picked so that shard n's slot lies in
the n-th `16384 / SHARDS` of the slot range: with slots split evenly over the primaries, so are the
shards). A client's shard is `crc32(client_id) % SHARDS`, and its shard holds everything its token
request touches, so the request is still ONE script on ONE primary:
- its record (`{tag}:dcr:client:<id>`) and the IP's bucket for that shard (`{tag}:dcr:throttle:token:<ip>`):
  a client IP has one bucket per shard, so one IP spreading requests over clients of every shard gets
  up to `SHARDS` buckets. What costs the database (no record, a stale one, a secret the record does
  not match) also takes a token from the IP's one bucket in the IP's own shard (a second round trip,
  only on the path that reads the database anyway), so that is still limited per IP;
- the usage and last-use hashes of that shard (`{tag}:dcr:usage:pending`, `{tag}:dcr:lastused:pending`):
  `SHARDS` counters, none hot; the usage flush claims each shard's hash once per run
  (`oauth.usage_flush`), each batch with its own ledger row, as with one Redis;
- the stamps it reads: a client's stamp is written to its shard; an application's or a statement's
  (shared by clients on every shard) is written by the revoking side to every shard (`SHARDS` small
  scripts, pipelined per primary: revocations are rare next to tokens), so each script reads its own
  shard's copy. Those copies are fields of one hash per shard (`{tag}:dcr:revoked:shared`): a script
  must name in KEYS every key it touches, and the gate learns the application and statement only from
  the record it reads (`scripts.py`). A client's stamp is `{tag}:dcr:revoked:client:<id>`; a token's
  lives in the shard of its jti; the newest stamp of each kind (the bearer check's shortcut) in shard 0;
- its application's part, a field of the shard's `{tag}:dcr:apps` (with its expiry in the value),
  written to every shard like a stamp.
Other throttles (registration, configuration, introspection) use the bucket in the IP's shard and the
stamps' copies there. MOVED and ASK replies (a slot moving, a failover) are followed by redis-py's
cluster client; a connection that fails raises, and `FallbackStore` answers meanwhile.
"""

import binascii
import contextlib
import os
import threading
import time
from collections.abc import Sequence
from typing import Any

import redis
from redis.cluster import RedisCluster
from redis.crc import key_slot

from core.redis import evalsha_on
from core.revocation import PREFIX, RECORD_TTL, Revoked, stamp_lifetime

from .base import (
    APPLICATION_PREFIX,
    APPLICATION_TTL,
    LAST_USED_PENDING_KEY,
    QUOTA_COUNTS_KEY,
    QUOTAS_KEY,
    RECORD_PREFIX,
    USAGE_PENDING_KEY,
    ClientGate,
    Outcome,
    StoredRecord,
    Throttle,
    bucket_key,
    quota_defaults,
)
from .formats import record_fields, registration_signal_args, usage_field
from .redis_store import RedisStore, _stamp_kind, _throttle_reply
from .scripts import (
    APPLICATION_PUT_SCRIPT,
    CLUSTER_CLIENT_SCRIPT,
    CLUSTER_REGISTERED_SCRIPT,
    CLUSTER_THROTTLE_SCRIPT,
    NEWEST_STAMPS_KEY,
    PRUNE_SCRIPT,
    RECORD_PUT_SCRIPT,
    STAMP_FIELD_SCRIPT,
    STAMP_SET_SCRIPT,
)
from .signal_counts import SIGNALS_PENDING_KEY, networks_key, signal_hour

SHARDS = 64
# A stamp's copy that could not be written is tried again this often, for this long (then the periodic
# republish, `oauth.tasks.revocation_stamps_republish`, writes it).
STAMP_RETRY_EVERY = 0.1
STAMP_RETRY_FOR = 300.0
_SLOTS = 16384
# What the database path takes from, besides the shard's bucket (see the module's docstring).
DATABASE_PATH_SCOPE = ":database"
# In each shard: the stamps of applications and statements (fields "app:<id>", "stmt:<jti>"), and the
# applications' parts (`scripts.py` says why these are hashes).
SHARED_STAMPS_KEY = PREFIX + "shared"
APPLICATIONS_KEY = "dcr:apps"


# Answers that redis-py's cluster client knows what to do with (`ClusterStore._script`).
_REDIRECTED = (
    redis.exceptions.AskError,  # and MovedError
    redis.exceptions.TryAgainError,
    redis.exceptions.ClusterDownError,
    redis.exceptions.NoScriptError,
)


def _shard_tags() -> tuple[str, ...]:
    tags = []
    for shard in range(SHARDS):
        low, high = shard * _SLOTS // SHARDS, (shard + 1) * _SLOTS // SHARDS
        attempt = 0
        while not low <= key_slot(f"c{shard}.{attempt}".encode()) < high:
            attempt += 1
        tags.append(f"c{shard}.{attempt}")
    return tuple(tags)


TAGS = _shard_tags()
PREFIXES = tuple("{" + tag + "}:" for tag in TAGS)
SHARED_STAMP_KINDS = (Revoked.APPLICATION.value, Revoked.STATEMENT.value)


def shard_of(text: str) -> int:
    return binascii.crc32(text.encode()) % SHARDS


def shard_keys(key: str) -> list[str]:
    """`key` in every shard (the usage flush claims each)."""
    return [prefix + key for prefix in PREFIXES]


def _stamp_ident(key: str) -> str:
    return key[len(PREFIX) :].partition(":")[2]


def _stamp_field(key: str) -> str:
    """An application's or statement's stamp as a field of a shard's shared stamps ("app:<id>")."""
    return key[len(PREFIX) :]


class ClusterStore(RedisStore):
    """Redis Cluster. Raises `redis.RedisError` when it cannot answer: `FallbackStore` answers then."""

    client: RedisCluster  # type: ignore[assignment]
    # An application's quota is split evenly over the shards (README "Quotas"): each shard's script
    # counts its own clients' tokens (and the registrations from IPs of its slot) against ceil(q / SHARDS).
    QUOTA_SHARDS = SHARDS

    def __init__(self, client: RedisCluster) -> None:
        super().__init__(client)  # type: ignore[arg-type]
        self._throttle = client.register_script(CLUSTER_THROTTLE_SCRIPT)
        self._client_gate = client.register_script(CLUSTER_CLIENT_SCRIPT)
        self._record_put = client.register_script(RECORD_PUT_SCRIPT)
        self._registered_cluster = client.register_script(CLUSTER_REGISTERED_SCRIPT)
        self._stamp_field = client.register_script(STAMP_FIELD_SCRIPT)
        self._stamp_set = client.register_script(STAMP_SET_SCRIPT)
        self.retries = StampRetries(self)
        self._newest_key = PREFIXES[0] + NEWEST_STAMPS_KEY

    def _script(self, script: Any, keys: list[Any], args: list[Any]) -> Any:
        """EVALSHA on the primary of the keys' slot, on this thread's own connection to it (as
        `RedisStore._script`: without redis-py's cluster command layers, which cost a fleet token request
        about 0.5 ms more of the web worker's CPU than one Redis, `make bench`). Anything but an answer
        (a connection that fails, MOVED or ASK while a slot moves or after a failover, TRYAGAIN, CLUSTERDOWN,
        a script that primary does not hold) goes through redis-py's cluster client, which follows the
        redirection, reads the slot map again or loads the script, or raises."""
        nodes = self.client.nodes_manager.slots_cache.get(key_slot(keys[0].encode()))
        if nodes:
            own = self._own.__dict__
            if own.get("pid") != os.getpid():  # a forked child makes its own
                own.clear()
                own["pid"] = os.getpid()
            connection = own.get(nodes[0].name)
            if connection is None:
                connection = own[nodes[0].name] = nodes[0].redis_connection.connection_pool.make_connection()
            try:
                return evalsha_on(connection, script.sha, keys, args)
            except _REDIRECTED:
                pass
            except (redis.ConnectionError, redis.TimeoutError):
                connection.disconnect()
        try:
            return self.client.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            return script(keys=keys, args=args)

    # Keys
    def _client_keys(self, client_id: str, scope: str, ip_address: str | None) -> tuple[list[str], str, str]:
        prefix = PREFIXES[shard_of(client_id)]
        keys = [
            prefix + bucket_key(scope, ip_address),
            prefix + RECORD_PREFIX + client_id,
            prefix + USAGE_PENDING_KEY,
            prefix + LAST_USED_PENDING_KEY,
            prefix + PREFIX + Revoked.CLIENT.value + ":" + client_id,
            prefix + SHARED_STAMPS_KEY,
            prefix + APPLICATIONS_KEY,
            prefix + SIGNALS_PENDING_KEY,
            prefix + QUOTAS_KEY,
            prefix + QUOTA_COUNTS_KEY,
        ]
        return keys, prefix + PREFIX, prefix + APPLICATION_PREFIX

    def _signal_keys(self, client_id: str, hour: str) -> list[str]:
        prefix = PREFIXES[shard_of(client_id)]
        return [prefix + SIGNALS_PENDING_KEY, prefix + networks_key(hour)]

    def _record_key(self, client_id: str) -> str:
        return PREFIXES[shard_of(client_id)] + RECORD_PREFIX + client_id

    # The token path
    def throttle(
        self,
        *,
        scope: str,
        ip_address: str | None,
        stamp_keys: Sequence[str] = (),
        since: float = 0,
        quota_application: str = "",
        bucket: bool = True,
    ) -> Throttle:
        """The bucket in the IP's shard; the stamps (applications' and statements') from its copies there,
        and the registrations counted in that shard's quota counts."""
        prefix = PREFIXES[shard_of(ip_address or "unknown")]
        for key in stamp_keys:
            if _stamp_kind(key) not in SHARED_STAMP_KINDS:
                raise ValueError(f"only application and statement stamps are in every shard, not {key!r}")
        keys = [
            prefix + bucket_key(scope, ip_address),
            prefix + SHARED_STAMPS_KEY,
            prefix + QUOTAS_KEY,
            prefix + QUOTA_COUNTS_KEY,
        ]
        args = [
            *self._bucket_args(bucket),
            repr(since),
            quota_application,
            quota_defaults(),
            self.QUOTA_SHARDS,
            *(_stamp_field(key) for key in stamp_keys),
        ]
        return _throttle_reply(self._script(self._throttle, keys, args), quota_application)

    def client_gate(
        self,
        *,
        client_id: str,
        secret_hash: bytes,
        scopes: tuple[str, ...] | None,
        day: str,
        throttle_scope: str | None = None,
        ip_address: str | None = None,
        count: bool = False,
        environment_id: int = 0,
    ) -> ClientGate:
        gate = super().client_gate(
            client_id=client_id,
            secret_hash=secret_hash,
            scopes=scopes,
            day=day,
            throttle_scope=throttle_scope,
            ip_address=ip_address,
            count=count,
            environment_id=environment_id,
        )
        if throttle_scope is not None and gate.outcome in (Outcome.MISSING, Outcome.STALE, Outcome.UNVERIFIED):
            throttle = self.throttle(scope=throttle_scope + DATABASE_PATH_SCOPE, ip_address=ip_address)
            if not throttle.allowed:
                return ClientGate(Outcome.THROTTLED, throttle.retry_after)
        return gate

    # Records, applications, counts
    def _record_put_call(
        self, record: StoredRecord, application: str = "", field: str = ""
    ) -> tuple[list[str], list[Any]]:
        prefix = PREFIXES[shard_of(record.client_id)]
        keys = [prefix + RECORD_PREFIX + record.client_id, prefix + APPLICATIONS_KEY, prefix + USAGE_PENDING_KEY]
        args: list[Any] = [
            RECORD_TTL,
            record.application_id if application else "",
            application,
            APPLICATION_TTL,
            field,
        ]
        for name, value in record_fields(record).items():
            args += [name, value]
        return keys, args

    def client_records_put(self, records: Sequence[StoredRecord]) -> None:
        """Each record whole (`RECORD_PUT_SCRIPT`), pipelined per primary when there are several."""
        if len(records) == 1:
            self._script(self._record_put, *self._record_put_call(records[0]))
            return
        with self.client.pipeline(transaction=False) as pipe:
            for record in records:
                keys, args = self._record_put_call(record)
                pipe.execute_command("EVAL", RECORD_PUT_SCRIPT, len(keys), *keys, *args)
            pipe.execute()

    def client_registered(
        self, *, record: StoredRecord, day: str, application: str, network: str = "", foreign_platform: str = ""
    ) -> None:
        """`RECORD_PUT_SCRIPT` with the signals' counts (`CLUSTER_REGISTERED_SCRIPT`), in the client's shard."""
        hour = signal_hour()
        field = usage_field(day, record.application_id, record.platform, "registrations")
        keys, args = self._record_put_call(record, application, field)
        signal_args = registration_signal_args(record, hour, network, foreign_platform)
        keys += self._signal_keys(record.client_id, hour)
        self._script(self._registered_cluster, keys, [*args[:5], *signal_args, *args[5:]])

    def application_put(self, application_id: str, packed: str) -> None:
        """In every shard: each client's script reads its own shard's copy."""
        with self.client.pipeline(transaction=False) as pipe:
            for key in shard_keys(APPLICATIONS_KEY):
                pipe.execute_command("EVAL", APPLICATION_PUT_SCRIPT, 1, key, application_id, packed, APPLICATION_TTL)
            pipe.execute()

    def quota_put(self, application_id: str, packed: str) -> None:
        """In every shard, as a field of its `QUOTAS_KEY` (each client's script reads its own shard's)."""
        with self.client.pipeline(transaction=False) as pipe:
            for key in shard_keys(QUOTAS_KEY):
                pipe.hset(key, application_id, packed)
            pipe.execute()

    def count(self, field: str) -> None:
        self.client.hincrby(PREFIXES[shard_of(field)] + USAGE_PENDING_KEY, field, 1)

    def counts_add(self, usage: dict[str, float], last_used: dict[int, float]) -> None:
        with self.client.pipeline(transaction=False) as pipe:
            for field, amount in usage.items():
                pipe.hincrby(PREFIXES[shard_of(field)] + USAGE_PENDING_KEY, field, int(amount))
            for pk, at in last_used.items():
                pipe.hset(PREFIXES[shard_of(str(pk))] + LAST_USED_PENDING_KEY, str(pk), int(at))
            pipe.execute()

    # Stamps
    def _stamp_copies(self, key: str, at: float) -> list[tuple[Any, list[Any], list[Any]]]:
        """The scripts that write a stamp: every copy (an application's or statement's in each shard, a
        client's or token's in its own), then the newest of its kind."""
        kind = _stamp_kind(key)
        copies: list[tuple[Any, list[Any], list[Any]]]
        if kind in SHARED_STAMP_KINDS:
            copies = [
                (self._stamp_field, [shared], [repr(at), _stamp_field(key)]) for shared in shard_keys(SHARED_STAMPS_KEY)
            ]
        else:
            copy = PREFIXES[shard_of(_stamp_ident(key))] + key
            copies = [(self._stamp_set, [copy], [repr(at), stamp_lifetime()])]
        return [*copies, (self._stamp_field, [self._newest_key], [repr(at), kind])]

    def stamp_write(self, key: str, at: float) -> bool:
        """Every copy, pipelined per primary. A copy that cannot be written (its primary dead, its
        replica not yet promoted) is written again by a thread of this process every
        `STAMP_RETRY_EVERY` seconds until it is (`StampRetries`): the promoted replica may not have it,
        and the gates on its shards read only it. Raises meanwhile (`FallbackStore` logs it and
        answers this process's requests from its own copy)."""
        copies = self._stamp_copies(key, at)
        self._stamp_reads.pop(key)
        self._stamp_reads.pop(NEWEST_STAMPS_KEY)
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for script, keys, args in copies:
                    pipe.execute_command("EVAL", script.script, len(keys), *keys, *args)
                pipe.execute()
            return True
        except redis.RedisError:
            failed = self.stamp_copies_write(copies)
        if not failed:
            return True
        self.retries.add(failed)
        raise redis.ConnectionError(f"{len(failed)} of {len(copies)} copies of {key} not written yet")

    def stamp_copies_write(
        self, copies: list[tuple[Any, list[Any], list[Any]]]
    ) -> list[tuple[Any, list[Any], list[Any]]]:
        """Each copy on its own, after reading the slot map again; returns those that failed (after one
        failure on a primary its other copies are not tried: each failure reads the map again)."""
        with contextlib.suppress(redis.RedisError):
            self.client.nodes_manager.initialize()
        failed, dead = [], set()
        for script, keys, args in copies:
            node = self.client.get_node_from_key(keys[0])
            if node is None or node.name in dead:
                failed.append((script, keys, args))
                continue
            try:
                self._script(script, keys, args)
            except redis.RedisError:
                failed.append((script, keys, args))
                dead.add(node.name)
        return failed

    def stamps_prune(self, before: float) -> int:
        """Each shard's shared stamps older than `before` and its expired applications' parts dropped
        (one script per shard, pipelined per primary); returns how many."""
        with self.client.pipeline(transaction=False) as pipe:
            for prefix in PREFIXES:
                keys = [prefix + SHARED_STAMPS_KEY, prefix + APPLICATIONS_KEY]
                pipe.execute_command("EVAL", PRUNE_SCRIPT, len(keys), *keys, repr(before))
            return sum(int(dropped) for dropped in pipe.execute())

    def _stamps_read(self, keys: Sequence[str]) -> list[Any]:
        with self.client.pipeline(transaction=False) as pipe:
            for key in keys:
                prefix = PREFIXES[shard_of(_stamp_ident(key))]
                if _stamp_kind(key) in SHARED_STAMP_KINDS:
                    pipe.hget(prefix + SHARED_STAMPS_KEY, _stamp_field(key))
                else:
                    pipe.get(prefix + key)
            return list(pipe.execute())


class StampRetries:
    """Stamp copies not written yet, written again by a thread of this process until they are."""

    def __init__(self, store: ClusterStore) -> None:
        self.store = store
        self.pending: list[tuple[Any, list[Any], list[Any]]] = []
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def add(self, copies: list[tuple[Any, list[Any], list[Any]]]) -> None:
        with self.lock:
            self.pending += copies
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="stamp-retries", daemon=True)
                self.thread.start()

    def _run(self) -> None:
        deadline = time.monotonic() + STAMP_RETRY_FOR
        while time.monotonic() < deadline:
            time.sleep(STAMP_RETRY_EVERY)
            with self.lock:
                copies, self.pending = self.pending, []
            failed = self.store.stamp_copies_write(copies)
            with self.lock:
                self.pending = failed + self.pending
                if not self.pending:
                    return
