"""One pending revocation request per application: a second (a double click, two tabs, another member)
is refused with a message naming the first, the database refuses a second pending row, and the TAMs are
e-mailed once."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, connections, transaction
from django.urls import reverse

from registered_apps import services
from registered_apps.models import Access, RevocationRequest
from tests.factories import UserFactory, member

pytestmark = pytest.mark.usefixtures("eager_tasks")


def request_url(application):
    return reverse("registered_apps:application_revocation_request", kwargs={"application_id": application.pk})


def test_a_second_request_for_the_same_application_is_refused_naming_the_first(
    settings, application, programmer, rw_user, mailoutbox, django_capture_on_commit_callbacks
):
    settings.TAM_EMAILS = ["tams@example-tv.com"]
    colleague = UserFactory(username="colleague")
    member(colleague, programmer, Access.READ_WRITE)
    with django_capture_on_commit_callbacks(execute=True):
        first = services.revocation_request_create(application=application, reason="Leaked key", actor=rw_user)
    with pytest.raises(ValidationError) as refused, django_capture_on_commit_callbacks(execute=True):
        services.revocation_request_create(application=application, reason="Leaked key!", actor=colleague)

    message = " ".join(refused.value.message_dict["reason"])
    at = first.requested_at
    assert "already pending" in message
    assert "requested by rw" in message
    assert f"{at:%b} {at.day}, {at:%Y %H:%M} UTC" in message
    assert list(RevocationRequest.objects.values_list("pk", flat=True)) == [first.pk]
    assert len(mailoutbox) == 1  # the TAMs hear of it once

    # Once the first is decided, a new request may be filed.
    services.revocation_request_dismiss(revocation_request=first, actor="tests")
    services.revocation_request_create(application=application, reason="Still leaked", actor=colleague)
    assert RevocationRequest.objects.filter(state=RevocationRequest.State.PENDING).count() == 1


def test_the_database_holds_one_pending_request_per_application(application, rw_user):
    RevocationRequest.objects.create(application=application, reason="first", requested_by=rw_user)
    with pytest.raises(IntegrityError), transaction.atomic():
        RevocationRequest.objects.create(application=application, reason="second", requested_by=rw_user)
    # Decided requests do not count.
    RevocationRequest.objects.create(
        application=application, reason="old", requested_by=rw_user, state=RevocationRequest.State.DISMISSED
    )
    assert RevocationRequest.objects.count() == 2


def test_posting_the_form_twice_files_one_request_and_shows_the_first(
    settings, client, login_as, application, rw_user, mailoutbox, django_capture_on_commit_callbacks
):
    settings.TAM_EMAILS = ["tams@example-tv.com"]
    login_as(rw_user)
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(request_url(application), {"reason": "Secret in a public repository"})
        again = client.post(request_url(application), {"reason": "Secret in a public repository"})

    assert first.status_code == 302
    assert again.status_code == 200
    assert "already pending" in again.content.decode() and "requested by rw" in again.content.decode()
    assert RevocationRequest.objects.filter(application=application).count() == 1
    assert len(mailoutbox) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises writers; the race needs two")
def test_two_requests_at_the_same_moment_make_one(transactional_db, application, rw_user, programmer):
    colleague = UserFactory(username="colleague")
    member(colleague, programmer, Access.READ_WRITE)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def file(actor) -> None:
        try:
            start.wait()
            services.revocation_request_create(application=application, reason="Leaked key", actor=actor)
            outcomes.append("filed")
        except ValidationError as error:
            outcomes.append(" ".join(error.message_dict["reason"]))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=file, args=(actor,)) for actor in (rw_user, colleague)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcome == "filed" for outcome in outcomes) == [False, True]
    assert "already pending" in next(outcome for outcome in outcomes if outcome != "filed")
    assert RevocationRequest.objects.filter(application=application).count() == 1
