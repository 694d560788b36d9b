"""Password reset tells nothing about which addresses have an account, and cannot be used to flood an
inbox: the request does the same work for every address (the same queries, one task of the same shape,
the same answer), the task sends only to a real, active account, and past DCR_PASSWORD_RESET_LIMIT per
address and per account in the window nothing more is queued or sent while the answer stays the same."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from celery.signals import task_prerun
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from registered_apps.tasks import password_reset_email
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]

RESET = "/accounts/password_reset/"


@contextmanager
def tasks_run() -> Iterator[list[tuple[str, dict]]]:
    """The tasks Celery runs meanwhile: (name, kwargs), from Celery's own task_prerun signal."""
    seen: list[tuple[str, dict]] = []

    def record(sender=None, task=None, args=None, kwargs=None, **_):
        seen.append((task.name, dict(kwargs or {})))

    task_prerun.connect(record, weak=False)
    try:
        yield seen
    finally:
        task_prerun.disconnect(record)


def reset_request(address: str, capture_callbacks):
    """POST the form; returns (response, queries made by the request, tasks queued by it)."""
    with capture_callbacks(execute=False) as callbacks, CaptureQueriesContext(connection) as queries:
        response = Client().post(RESET, {"email": address})
    with tasks_run() as tasks:
        for callback in callbacks:
            callback()
    return response, [query["sql"] for query in queries.captured_queries], tasks


def test_a_known_and_an_unknown_address_cost_the_request_the_same(
    rw_user, mailoutbox, django_capture_on_commit_callbacks
):
    known, known_sql, known_tasks = reset_request(rw_user.email, django_capture_on_commit_callbacks)
    unknown, unknown_sql, unknown_tasks = reset_request("nobody@example.com", django_capture_on_commit_callbacks)

    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert len(known_sql) == len(unknown_sql)
    # One task each, of the same name and the same arguments but the address.
    assert [name for name, _ in known_tasks] == [name for name, _ in unknown_tasks] == [password_reset_email.name]
    known_kwargs, unknown_kwargs = known_tasks[0][1], unknown_tasks[0][1]
    assert known_kwargs.pop("email") == rw_user.email and unknown_kwargs.pop("email") == "nobody@example.com"
    assert known_kwargs == unknown_kwargs
    # Only the real account got an e-mail.
    assert [message.to for message in mailoutbox] == [[rw_user.email]]


def test_the_email_goes_only_to_an_active_account_with_a_password(db, mailoutbox, django_capture_on_commit_callbacks):
    UserFactory(username="active", email="active@example.com")
    UserFactory(username="inactive", email="inactive@example.com", is_active=False)
    no_password = UserFactory(username="sso", email="sso@example.com")
    no_password.set_unusable_password()
    no_password.save()

    for address in ("inactive@example.com", "sso@example.com", "nobody@example.com", "ACTIVE@example.com"):
        response, _, tasks = reset_request(address, django_capture_on_commit_callbacks)
        assert response.status_code == 302 and len(tasks) == 1
    # Case-insensitive, as Django's own form, and to the stored address.
    assert [message.to for message in mailoutbox] == [["active@example.com"]]


def test_resets_are_limited_per_address_quietly(settings, rw_user, mailoutbox, django_capture_on_commit_callbacks):
    settings.DCR_PASSWORD_RESET_LIMIT = 3
    answers, queued = set(), {}
    for address in (rw_user.email, "nobody@example.com"):
        queued[address] = 0
        for typed in (address, address.upper(), address, address, address):
            response, _, tasks = reset_request(typed, django_capture_on_commit_callbacks)
            answers.add((response.status_code, response["Location"]))
            queued[address] += len(tasks)

    assert answers == {(302, "/accounts/password_reset/done/")}  # past the limit too
    assert queued == {rw_user.email: 3, "nobody@example.com": 3}
    assert len(mailoutbox) == 3
    # Another address is not held back by the first's limit.
    _, _, tasks = reset_request("someone-else@example.com", django_capture_on_commit_callbacks)
    assert len(tasks) == 1


def test_resets_are_limited_per_account_whatever_asks(settings, rw_user, mailoutbox):
    settings.DCR_PASSWORD_RESET_LIMIT = 3
    arguments = {
        "email": rw_user.email,
        "domain": "testserver",
        "site_name": "testserver",
        "use_https": False,
        "subject_template_name": "registration/password_reset_subject.txt",
        "email_template_name": "registration/password_reset_email.html",
    }
    sent = [password_reset_email.apply(kwargs=arguments).get() for _ in range(5)]
    assert sent == [1, 1, 1, 0, 0]
    assert len(mailoutbox) == 3
