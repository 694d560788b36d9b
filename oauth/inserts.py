"""A new client and its audit event in ONE statement on PostgreSQL.

Registration is the only write on the API's hot path. Through the ORM it costs four round trips (BEGIN,
two INSERTs, COMMIT) and Django's SQL compiler twice; measured in-process on the benchmark's machine
that was 2.2 ms of the request's 3.5. Here the two INSERTs are one data-modifying CTE (atomic on its
own, so no BEGIN/COMMIT), its SQL built once per process from the models' fields, and each value still
prepared by its own field (`pre_save` for the timestamps, `get_db_prep_save` for JSON and the rest), so
the rows are exactly those `Model.save()` would write. Other databases (the embedded SQLite default)
take the ORM path in one transaction.

Neither model has save() overrides, field pre_save hooks beyond the timestamps', or signal receivers
that this skips; a test compares both paths' rows column by column.
"""

from typing import Any

from django.db import connections, models, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.postgresql.base import ServerBindingCursor  # type: ignore[attr-defined]
from django.db.backends.utils import CursorWrapper

from core import process_state
from core.db_health import health_check_by_socket
from registered_apps.models import AuditEvent

from .models import Client


@process_state.memoized("insert-fields", maxsize=None)
def _insert_fields(model: type[models.Model]) -> list["models.Field[Any, Any]"]:
    return [f for f in model._meta.concrete_fields if not f.primary_key]


@process_state.memoized("insert-audit-value-fields", maxsize=None)
def _audit_value_fields() -> list["models.Field[Any, Any]"]:
    """The audit event's fields sent as parameters: all but object_id, which the statement fills in."""
    object_id = AuditEvent._meta.get_field("object_id")
    return [f for f in _insert_fields(AuditEvent) if f is not object_id]


@process_state.memoized("insert-statements", maxsize=None)
def _statement(alias: str) -> str:
    """WITH c AS (INSERT client RETURNING id) INSERT audit ... SELECT ..., c.id ... FROM c RETURNING ids."""
    connection = connections[alias]
    quote = connection.ops.quote_name
    client_fields = _insert_fields(Client)
    audit_fields = _insert_fields(AuditEvent)
    client_pk = quote(Client._meta.pk.column)  # type: ignore[union-attr]
    audit_pk = quote(AuditEvent._meta.pk.column)  # type: ignore[union-attr]
    object_id = AuditEvent._meta.get_field("object_id")
    audit_values = [
        f"CAST(c.{client_pk} AS varchar)" if field is object_id else "%s" for field in audit_fields
    ]  # fmt: skip
    # Only quoted names from the models' metadata go into the text; every value is a parameter.
    client_table, audit_table = quote(Client._meta.db_table), quote(AuditEvent._meta.db_table)
    client_columns = ", ".join(quote(f.column) for f in client_fields)
    client_values = ", ".join(["%s"] * len(client_fields))
    audit_columns = ", ".join(quote(f.column) for f in audit_fields)
    insert_client = f"INSERT INTO {client_table} ({client_columns}) VALUES ({client_values}) RETURNING {client_pk}"  # noqa: S608
    select_audit = f"SELECT {', '.join(audit_values)} FROM c"  # noqa: S608
    return (
        f"WITH c AS ({insert_client}) INSERT INTO {audit_table} ({audit_columns}) {select_audit} "  # noqa: S608
        f"RETURNING {audit_pk}, (SELECT {client_pk} FROM c)"
    )


def _saves_str_as_is(field: "models.Field[Any, Any]") -> bool:
    """Whether `field` saves a str or None unchanged: Django's own CharField and TextField conversions
    (pre_save reads the attribute, get_db_prep_save -> get_prep_value -> to_python return a str as it is),
    none overridden by the field's class."""
    cls = type(field)
    return (
        cls.pre_save is models.Field.pre_save
        and cls.get_db_prep_save is models.Field.get_db_prep_save
        and cls.get_db_prep_value is models.Field.get_db_prep_value
        and cls.get_prep_value in (models.CharField.get_prep_value, models.TextField.get_prep_value)
        and cls.to_python in (models.CharField.to_python, models.TextField.to_python)
    )


ValuePlan = tuple[tuple["models.Field[Any, Any]", str | None], ...]


@process_state.memoized("insert-value-plans", maxsize=None)
def _value_plan(audit: bool) -> ValuePlan:
    """Each parameter's field, with its attribute name where a str value is sent as it is."""
    fields = _audit_value_fields() if audit else _insert_fields(Client)
    return tuple((field, field.attname if _saves_str_as_is(field) else None) for field in fields)


def _values(obj: models.Model, plan: ValuePlan, connection: BaseDatabaseWrapper) -> list[Any]:
    """What `Model.save()` would send for each field (`pre_save`, then `get_db_prep_save`); a text field's
    str or None is sent as it is without the four calls that would return it unchanged (a registration's
    values took about 95 us through the fields)."""
    values = []
    for field, attname in plan:
        if attname is not None:
            value = getattr(obj, attname)
            if value is None or type(value) is str:
                values.append(value)
                continue
        values.append(field.get_db_prep_save(field.pre_save(obj, True), connection))
    return values


class _PreparedCursor(ServerBindingCursor):  # type: ignore[misc]
    """Django's server-binding cursor that asks psycopg to prepare each statement it runs (`prepare=True`:
    at the first run on a connection, then reused by name)."""

    def execute(
        self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: bool | None = None
    ) -> Any:
        del prepare  # the caller's choice is replaced: always prepared
        return super().execute(query, params, prepare=True, binary=binary)


# psycopg prepares nothing while a connection's threshold is None (Django's default when OPTIONS has none);
# with this one, only a statement run with prepare=True is (the project's other cursors bind on the client
# and are never prepared).
_PREPARE_ONLY_WHEN_ASKED = 2**62


def _server_binding_cursor(connection: BaseDatabaseWrapper) -> CursorWrapper:
    """`connection.cursor()` (the health check, the connection, Django's error wrapping, query logging and
    execute wrappers) with psycopg's server-side binding instead of the project's client-side default:
    the 40-odd values travel as parameters instead of being quoted into the text in Python, and the
    statement is prepared on the connection, so PostgreSQL parses and plans it once per connection
    instead of once per registration (measured: about 30% less of PostgreSQL's CPU per registration).
    Not where OPTIONS turn prepared statements off (`prepare_threshold: None`, as `DATABASE_PGBOUNCER`
    does, README "PgBouncer"): the values are still bound, the statement is not prepared."""
    connection.close_if_health_check_failed()  # type: ignore[attr-defined]
    connection.ensure_connection()
    raw = connection.connection
    options = connection.settings_dict.get("OPTIONS") or {}
    prepared = not ("prepare_threshold" in options and options["prepare_threshold"] is None)
    with connection.wrap_database_errors:
        if prepared and raw.prepare_threshold is None:
            raw.prepare_threshold = _PREPARE_ONLY_WHEN_ASKED
        cursor = (_PreparedCursor if prepared else ServerBindingCursor)(raw)
    if connection.queries_logged:
        return connection.make_debug_cursor(cursor)
    return connection.make_cursor(cursor)


def client_with_audit_insert(client: Client, event: AuditEvent) -> None:
    """Insert `client` and `event` atomically; the event's object_id becomes the client's primary key.
    Both objects come back saved, with their primary keys and timestamps set."""
    alias = router.db_for_write(Client)
    connection = connections[alias]
    if connection.vendor != "postgresql":
        with transaction.atomic(using=alias):
            client.save(using=alias, force_insert=True)
            event.object_id = str(client.pk)
            event.save(using=alias, force_insert=True)
        return
    params = _values(client, _value_plan(False), connection)
    params += _values(event, _value_plan(True), connection)
    health_check_by_socket(connection)
    with _server_binding_cursor(connection) as cursor:
        cursor.execute(_statement(alias), params)
        event_pk, client_pk = cursor.fetchone()
    client.pk, event.pk, event.object_id = client_pk, event_pk, str(client_pk)
    for obj in (client, event):
        obj._state.adding = False
        obj._state.db = alias
