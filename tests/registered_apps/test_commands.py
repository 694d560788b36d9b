"""The management commands: each one's success path and each bad-argument path (one-line error,
non-zero exit, nothing half-created)."""

import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from registered_apps import services
from registered_apps.models import (
    Access,
    ApplicationStatus,
    AuditEvent,
    Channel,
    ChannelDomain,
    CustomScheme,
    Membership,
    Programmer,
    RegisteredApplication,
)
from tests.factories import ChannelFactory, ProgrammerFactory

ROOT = Path(__file__).resolve().parents[2]


def run(*args, stdin: str | None = None) -> str:
    out = io.StringIO()
    options = {"stdout": out, "stderr": io.StringIO()}
    if stdin is not None:
        options["stdin"] = io.StringIO(stdin)
    call_command(*args, **options)
    return out.getvalue()


def fails(*args, stdin: str | None = None) -> str:
    """The command must fail with a one-line message and leave the database as it was."""
    counts = snapshot()
    with pytest.raises(CommandError) as excinfo:
        run(*args, stdin=stdin)
    message = str(excinfo.value)
    assert message and "\n" not in message
    assert snapshot() == counts
    return message


def snapshot() -> dict[str, int]:
    models = [Programmer, Channel, ChannelDomain, CustomScheme, Membership, User, RegisteredApplication, AuditEvent]
    return {model.__name__: model.objects.count() for model in models}


# --- create_programmer ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_programmer_onboards_channels_domains_and_schemes():
    output = run(
        "create_programmer",
        "acme",
        "--name",
        "Acme TV",
        "--channel",
        "acme-news:Acme News",
        "--channel",
        "acme-kids",
        "--domain",
        "acme-news:Watch.Acme.example.com",
        "--domain",
        "acme-news:live.acme.example.com",
    )
    programmer = Programmer.objects.get(slug="acme")
    assert programmer.name == "Acme TV"
    news, kids = Channel.objects.get(slug="acme-news"), Channel.objects.get(slug="acme-kids")
    assert news.programmer == kids.programmer == programmer
    assert news.name == "Acme News" and kids.name == "acme-kids"
    assert sorted(news.domains.values_list("host", flat=True)) == ["live.acme.example.com", "watch.acme.example.com"]
    assert not kids.domains.exists()
    for channel in (news, kids):
        scheme = channel.custom_schemes.get().scheme
        assert scheme in output
    assert AuditEvent.objects.filter(actor_label="command:create_programmer", programmer=programmer).count() == 5


@pytest.mark.django_db
def test_create_programmer_without_channels_is_fine():
    run("create_programmer", "solo", "--name", "Solo")
    assert Programmer.objects.get(slug="solo").channels.count() == 0


@pytest.mark.parametrize(
    "args",
    [
        ["existing", "--name", "Again"],
        ["acme", "--name", "Acme", "--channel", "taken-channel"],
        ["acme", "--name", "Acme", "--channel", "a-one", "--channel", "a-one"],
        ["acme", "--name", "Acme", "--channel", ":No slug"],
        ["acme", "--name", "Acme", "--channel", "a-one", "--domain", "a-two:x.example.com"],
        ["acme", "--name", "Acme", "--channel", "a-one", "--domain", "x.example.com"],
        ["acme", "--name", "Acme", "--channel", "a-one", "--domain", "a-one:not a host"],
        ["acme", "--name", "Acme", "--channel", "bad slug!"],
        ["Not A Slug", "--name", "Acme"],
        ["acme", "--name", ""],
        ["acme"],
    ],
)
@pytest.mark.django_db
def test_create_programmer_bad_arguments_create_nothing(args):
    ChannelFactory(programmer=ProgrammerFactory(slug="existing"), slug="taken-channel")
    fails("create_programmer", *args)


# --- add_member -----------------------------------------------------------------------------------


def test_add_member_creates_a_user_with_a_generated_password_printed_once(programmer, channels):
    output = run("add_member", "alice", "--programmer", "demo-networks", "--access", "read_write", "--email", "a@x.io")
    password = output.split("Password (shown once): ")[1].strip()
    user = User.objects.get(username="alice")
    assert user.check_password(password) and len(password) >= 20 and user.email == "a@x.io"
    membership = Membership.objects.get(user=user, programmer=programmer)
    assert membership.access == Access.READ_WRITE and not membership.channels.exists()
    assert not user.is_staff
    assert password not in str(list(AuditEvent.objects.values_list("details", flat=True)))


def test_add_member_reads_the_password_from_stdin_and_narrows_to_channels(programmer, channels):
    output = run(
        "add_member",
        "bob",
        "--programmer",
        "demo-networks",
        "--channel",
        "demo-two",
        "--channel",
        "demo-three",
        "--access",
        "read_only",
        "--password-stdin",
        stdin="granite-sparrow-42\nignored second line\n",
    )
    assert "granite-sparrow-42" not in output
    user = User.objects.get(username="bob")
    assert user.check_password("granite-sparrow-42")
    membership = Membership.objects.get(user=user)
    assert membership.access == Access.READ_ONLY
    assert sorted(c.slug for c in membership.channels.all()) == ["demo-three", "demo-two"]


def test_add_member_updates_an_existing_user_and_keeps_their_password(programmer, channels, rw_user):
    output = run("add_member", "rw", "--programmer", "demo-networks", "--access", "read_only", "--channel", "demo-one")
    assert "Password unchanged" in output and "shown once" not in output
    rw_user.refresh_from_db()
    assert rw_user.check_password("password-for-tests")
    membership = Membership.objects.get(user=rw_user)
    assert membership.access == Access.READ_ONLY and [c.slug for c in membership.channels.all()] == ["demo-one"]


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        (["carol", "--programmer", "nobody", "--access", "read_write"], None),
        (["carol", "--programmer", "demo-networks", "--access", "owner"], None),
        (["carol", "--programmer", "demo-networks"], None),
        (["carol", "--programmer", "demo-networks", "--access", "read_write", "--channel", "other-one"], None),
        (["carol", "--programmer", "demo-networks", "--access", "read_write", "--channel", "nope"], None),
        (["carol", "--programmer", "demo-networks", "--access", "read_write", "--email", "not-an-email"], None),
        (["carol", "--programmer", "demo-networks", "--access", "read_write", "--password-stdin"], ""),
        (["carol", "--programmer", "demo-networks", "--access", "read_write", "--password-stdin"], "password\n"),
        (["bad user name!", "--programmer", "demo-networks", "--access", "read_write"], None),
    ],
)
def test_add_member_bad_arguments_create_nothing(programmer, channels, other_user, args, stdin):
    fails("add_member", *args, stdin=stdin)


# --- revoke_registered_app ------------------------------------------------------------------------


def test_revoke_registered_app_revokes_with_the_reason(application):
    output = run("revoke_registered_app", str(application.pk), "--reason", "Abuse reported by the MVPD")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REVOKED
    assert application.revocation_reason == "Abuse reported by the MVPD"
    assert str(application.pk) in output
    event = AuditEvent.objects.get(action="application.revoke")
    assert event.actor_label == "command:revoke_registered_app"


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "5f0c3bb8-0d6e-4d7e-9a53-2f3f0b6f8a11", ""])
def test_revoke_registered_app_refuses_unknown_ids(application, bad_id):
    fails("revoke_registered_app", bad_id, "--reason", "x")


def test_revoke_registered_app_needs_a_reason(application):
    fails("revoke_registered_app", str(application.pk), "--reason", "   ")
    fails("revoke_registered_app", str(application.pk))
    application.refresh_from_db()
    assert application.status == ApplicationStatus.ACTIVE


def test_revoke_registered_app_refuses_an_already_revoked_application(application, tam):
    services.registered_application_revoke(application=application, reason="first", actor=tam)
    assert "already revoked" in fails("revoke_registered_app", str(application.pk), "--reason", "second")
    application.refresh_from_db()
    assert application.revocation_reason == "first"


# --- seed_demo ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_seed_demo_creates_everything_once_and_prints_the_logins(client):
    first = run("seed_demo")
    counts = snapshot()
    second = run("seed_demo")
    assert snapshot() == counts
    for output in (first, second):
        assert "Demo logins" in output
    programmer = Programmer.objects.get(slug="demo-networks")
    assert programmer.channels.count() == 3
    for channel in programmer.channels.all():
        assert channel.custom_schemes.exists() and channel.domains.exists()
    app = RegisteredApplication.objects.get(programmer=programmer)
    assert app.status == ApplicationStatus.ACTIVE and app.all_channels
    tam = User.objects.get(username="tam")
    assert tam.is_superuser and tam.is_staff
    accesses = {
        m.user.username: (m.access, [c.slug for c in m.channels.all()])
        for m in Membership.objects.select_related("user")
    }
    assert accesses == {
        "demo-programmer": ("read_write", []),
        "demo-channel": ("read_write", ["demo-news"]),
        "demo-readonly": ("read_only", []),
    }
    # Every printed login works (through the sign-in form: django-axes needs the request).
    logins = first.split("Demo logins")[1].splitlines()[1:5]
    for line in logins:
        username, password = line.split()[:2]
        assert client.post("/accounts/login/", {"username": username, "password": password}).status_code == 302
        assert client.session["_auth_user_id"] == str(User.objects.get(username=username).pk), username


@pytest.mark.django_db
def test_seed_demo_keeps_a_revoked_demo_application_revoked_and_makes_a_new_active_version():
    run("seed_demo")
    app = RegisteredApplication.objects.get()
    services.registered_application_revoke(application=app, reason="testing revocation", actor="tests")
    output = run("seed_demo")
    app.refresh_from_db()
    assert app.status == ApplicationStatus.REVOKED
    new = RegisteredApplication.objects.get(status=ApplicationStatus.ACTIVE)
    assert (new.name, new.version) == ("Demo Player", "1.0.1")
    # What the README's walk-through reads (step 1), so that it can be run again after step 6.
    assert f"Demo application: Demo Player 1.0.1 ({new.pk}), active" in output
    run("seed_demo")
    assert RegisteredApplication.objects.count() == 2


# --- From a real shell ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["revoke_registered_app", "not-a-uuid", "--reason", "x"],
        ["create_programmer", "acme"],
        ["add_member", "x", "--programmer", "p", "--access", "owner"],
    ],
)
def test_commands_print_one_line_on_stderr_and_exit_non_zero(args):
    # These fail before touching any database, so the subprocess needs none of the test's.
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
