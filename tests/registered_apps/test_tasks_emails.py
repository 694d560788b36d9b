"""Emails: revocation requested (to the TAMs), application revoked (to read-write members), password
reset; sent by tasks after the transaction commits, retried on network errors, never twice."""

import re
import socket

import pytest
from celery.exceptions import Retry
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.template import TemplateDoesNotExist

from registered_apps import services
from registered_apps.models import Access
from registered_apps.tasks import application_revoked_email, revocation_requested_email
from tests.factories import UserFactory, member

pytestmark = pytest.mark.usefixtures("eager_tasks")


@pytest.fixture
def tam_settings(settings):
    settings.TAM_EMAILS = ["tams@example-tv.com"]
    return settings


def test_revocation_request_emails_the_tams_and_active_staff_once_committed(
    tam_settings, application, rw_user, mailoutbox, django_capture_on_commit_callbacks
):
    UserFactory(username="staff", email="staff@example-tv.com", is_staff=True)
    UserFactory(username="gone", email="gone@example-tv.com", is_staff=True, is_active=False)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.revocation_request_create(application=application, reason="Leaked statement", actor=rw_user)
        assert mailoutbox == []
    for callback in callbacks:
        callback()

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert sorted(message.to) == ["staff@example-tv.com", "tams@example-tv.com"]
    assert application.name in message.subject
    assert "Leaked statement" in message.body
    assert str(application.pk) in message.body
    assert "Leaked statement" in message.alternatives[0][0]


def test_no_email_leaves_when_the_transaction_rolls_back(
    tam_settings, application, rw_user, mailoutbox, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.revocation_request_create(application=application, reason="Oops", actor=rw_user)
        raise RuntimeError("rolled back")
    assert callbacks == []
    assert mailoutbox == []


def test_revoked_application_emails_each_read_write_member_of_its_programmer(
    programmer,
    application,
    rw_user,
    ro_user,
    channel_user,
    other_user,
    tam,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    silent = UserFactory(username="no-address", email="")
    member(silent, programmer, Access.READ_WRITE)
    with django_capture_on_commit_callbacks(execute=True):
        services.registered_application_revoke(application=application, reason="Contract ended", actor=tam)

    assert sorted(address for message in mailoutbox for address in message.to) == sorted(
        [rw_user.email, channel_user.email]
    )
    assert all(len(message.to) == 1 for message in mailoutbox)
    assert "Contract ended" in mailoutbox[0].body
    assert "revoked" in mailoutbox[0].subject.lower()


def test_a_redelivered_revocation_email_task_sends_nothing_more(
    application, rw_user, tam, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.registered_application_revoke(application=application, reason="Contract ended", actor=tam)
    assert len(mailoutbox) == 1
    application.refresh_from_db()

    assert application_revoked_email.apply(args=[str(application.pk), application.revoked_at.timestamp()]).get() == 0
    assert len(mailoutbox) == 1


def test_an_application_restored_before_the_email_left_sends_no_revocation_email(
    application, rw_user, tam, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        services.registered_application_revoke(application=application, reason="Mistake", actor=tam)
    revoked_at = application.revoked_at.timestamp()
    services.registered_application_restore(application=application, actor=tam)

    assert application_revoked_email.apply(args=[str(application.pk), revoked_at]).get() == 0
    assert mailoutbox == []


def test_a_decided_revocation_request_sends_no_late_email(
    tam_settings, application, rw_user, tam, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        request = services.revocation_request_create(application=application, reason="Leak", actor=rw_user)
    services.revocation_request_dismiss(revocation_request=request, actor=tam)

    assert revocation_requested_email.apply(args=[request.pk]).get() == 0
    assert mailoutbox == []


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_mail_server_makes_the_email_task_retry_with_backoff(
    settings, tam_settings, application, rw_user, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = _closed_port()
    settings.EMAIL_TIMEOUT = 1
    with django_capture_on_commit_callbacks(execute=False):
        request = services.revocation_request_create(application=application, reason="Leak", actor=rw_user)
    with pytest.raises(Retry) as retry:
        revocation_requested_email.apply(args=[request.pk])

    assert isinstance(retry.value.exc, ConnectionRefusedError)
    # Exponential backoff with jitter: the first wait is at most `retry_backoff` seconds.
    assert 0 <= retry.value.when <= revocation_requested_email.retry_backoff


def test_a_template_or_data_error_in_an_email_task_fails_without_retrying(
    settings, tam_settings, application, rw_user, django_capture_on_commit_callbacks
):
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": []}]  # the email templates are gone
    with django_capture_on_commit_callbacks(execute=False):
        request = services.revocation_request_create(application=application, reason="Leak", actor=rw_user)

    with pytest.raises(TemplateDoesNotExist):
        revocation_requested_email.apply(args=[request.pk])


def test_password_reset_email_carries_a_working_link_and_is_sent_by_a_task(
    client, rw_user, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post("/accounts/password_reset/", {"email": rw_user.email})
    assert mailoutbox == []  # not inside the request
    for callback in callbacks:
        callback()

    assert response.status_code == 302
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [rw_user.email]
    match = re.search(r"/accounts/reset/(?P<uid>[\w-]+)/(?P<token>[\w-]+)/", mailoutbox[0].body)
    assert match, mailoutbox[0].body
    assert default_token_generator.check_token(rw_user, match["token"])
    assert client.get(match.group(0)).status_code == 302  # to the set-password form


def test_password_reset_for_an_unknown_address_sends_nothing(
    client, rw_user, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/password_reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert mailoutbox == []
