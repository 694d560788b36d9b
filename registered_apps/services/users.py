"""Dashboard users: created and updated by TAMs and commands; passwords validated, never recorded."""

from django.contrib.auth import password_validation
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext

from .audit import Actor, audit_event_record


@transaction.atomic
def dashboard_user_set(
    *,
    username: str,
    email: str = "",
    password: str | None = None,
    superuser: bool | None = None,
    actor: Actor,
    ip_address: str | None = None,
) -> tuple[User, bool]:
    """Create a dashboard user or update its email; set the password when one is given.

    The password is validated with the project's password validators and never recorded."""
    username = (username or "").strip()
    if not username:
        raise ValidationError({"username": gettext("Give a username.")})
    user = User.objects.filter(username=username).first()
    created = user is None
    if user is None:
        user = User(username=username, email=email)
        user.full_clean(exclude=["password"])
    elif email:
        user.email = email
        user.full_clean(exclude=["password"])
    if password is not None:
        password_validation.validate_password(password, user)
        user.set_password(password)
    elif created:
        user.set_unusable_password()
    if superuser is not None:
        # TAMs are Django staff with every permission.
        user.is_staff = user.is_superuser = superuser
    user.save()
    audit_event_record(
        actor=actor,
        action="user.create" if created else "user.change",
        target=user,
        programmer=None,
        ip_address=ip_address,
        details={
            "username": username,
            "email": user.email,
            "password_set": password is not None,
            "superuser": user.is_superuser,
        },
    )
    return user, created
