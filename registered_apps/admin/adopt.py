"""The add pages of programmers and channels keep their own unsaved instance: their inline formsets
(a programmer's channels, a channel's domains) point at it, and the admin logs and redirects to it. The
service creates the row, and `admin_adopt` makes that instance the created row. (Admins without inlines
return the service's row from `save_form` instead.)"""

from django.db.models import Model


def admin_adopt(target: Model, source: Model) -> None:
    """Make the admin's unsaved `target` the row `source` a service created."""
    for field in source._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    target._state.adding = False
    target._state.db = source._state.db
