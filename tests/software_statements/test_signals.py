"""Abuse signals from the hourly rows and the networks' counts: each kind against its threshold, raised
once (extended while it lasts), acted on in the admin, shown to the programmer, counted in /metrics."""

import datetime

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from oauth.signal_flush import NetworkCount
from oauth.tasks import signals_compute_now
from software_statements import signals
from software_statements.models import Signal, SignalKind, SignalSeverity, StatementHour
from software_statements.services import software_statement_issue
from tests.oauth.api import register

pytestmark = pytest.mark.django_db
HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def leaked(application):
    _, statement = software_statement_issue(application=application, actor="tests")
    return statement


def _hour(statement, hour, **counts):
    return StatementHour.objects.create(statement=statement, application=statement.application, hour=hour, **counts)


def _now():
    return timezone.now().replace(minute=30, second=0, microsecond=0)


@override_settings(DCR_SIGNAL_ONE_TOKEN_MIN=10, DCR_SIGNAL_ONE_TOKEN_SHARE=0.8, DCR_SIGNAL_ONE_TOKEN_WAIT=3600)
def test_clients_that_never_came_back(leaked):
    now = _now()
    _hour(leaked, signals.current_hour(now) - 2 * HOUR, first_tokens=50, second_tokens=5)  # 45 never came back
    _hour(leaked, signals.current_hour(now) - 3 * HOUR, first_tokens=50, second_tokens=40)  # these did
    _hour(leaked, signals.current_hour(now), first_tokens=50)  # too recent to tell
    found = signals.one_token_clients(now)
    assert [(f.window_start, f.figures["never_came_back"]) for f in found] == [
        (signals.current_hour(now) - 2 * HOUR, 45)
    ]


@override_settings(DCR_SIGNAL_NETWORK_MIN=30, DCR_SIGNAL_CRITICAL_FACTOR=4.0)
def test_a_crowded_network_and_its_severity(leaked):
    hour = timezone.now().strftime("%Y%m%d%H")
    entries = [
        NetworkCount(hour, str(leaked.application_id), str(leaked.jti), "203.0.113.0/24", 120),
        NetworkCount(hour, str(leaked.application_id), "not-a-statement", "198.51.100.0/24", 500),
    ]
    raised = signals.signals_raise(now=timezone.now(), networks=entries)
    assert [(s.kind, s.subject, s.severity) for s in raised] == [
        (SignalKind.CROWDED_NETWORK, "203.0.113.0/24", SignalSeverity.CRITICAL)
    ]


@override_settings(DCR_SIGNAL_SURGE_MIN=20, DCR_SIGNAL_SURGE_FACTOR=5.0)
def test_a_surge_is_raised_once_extended_while_it_lasts_and_acknowledged_stays_quiet(leaked):
    now = _now()
    hour = signals.current_hour(now)
    type(leaked).objects.filter(pk=leaked.pk).update(issued_at=hour - datetime.timedelta(days=8))
    row = _hour(leaked, hour, registrations=19)
    assert signals.signals_raise(now=now) == []  # under the minimum
    row.registrations = 40
    row.save()
    [raised] = signals.signals_raise(now=now)
    assert raised.statement_id == leaked.jti and raised.figures["threshold"] == 20.0
    assert signals.signals_raise(now=now) == []  # the same window: not again
    _hour(leaked, hour + HOUR, registrations=60)
    assert signals.signals_raise(now=now + HOUR) == []  # the next hour extends the open signal
    raised.refresh_from_db()
    assert raised.window_end == hour + 2 * HOUR and raised.figures["registrations"] == 60
    Signal.objects.filter(pk=raised.pk).update(acknowledged_at=timezone.now())
    assert signals.signals_raise(now=now + HOUR) == []  # acknowledged for that window
    _hour(leaked, hour + 2 * HOUR, registrations=60)
    assert len(signals.signals_raise(now=now + 2 * HOUR)) == 1  # still going on an hour later: raised again


def test_the_baseline_is_the_statements_own(leaked, application):
    """Ten an hour all week: thirty in an hour is a surge at factor 3, twenty-nine is not."""
    now = _now()
    hour = signals.current_hour(now)
    type(leaked).objects.filter(pk=leaked.pk).update(issued_at=hour - datetime.timedelta(days=10))
    for back in range(1, 7 * 24 + 1):
        _hour(leaked, hour - back * HOUR, registrations=10)
    current = _hour(leaked, hour, registrations=29)
    with override_settings(DCR_SIGNAL_SURGE_MIN=1, DCR_SIGNAL_SURGE_FACTOR=3.0):
        assert signals.surges(hour) == []
        current.registrations = 30
        current.save()
        assert [f.figures["baseline_per_hour"] for f in signals.surges(hour)] == [10.0]


@pytest.fixture
def raised(leaked, client):
    for _ in range(3):
        assert (
            register(client, software_statement_issue(application=leaked.application, actor="t")[0]).status_code == 201
        )
    statement_token, statement = software_statement_issue(application=leaked.application, actor="tests")
    for n in range(4):
        assert register(client, statement_token, REMOTE_ADDR=f"10.0.{n}.1").status_code == 201
    start = signals.current_hour(timezone.now())
    return Signal.objects.create(
        kind=SignalKind.FOREIGN_PLATFORM,
        application=statement.application,
        statement=statement,
        window_start=start,
        window_end=start + HOUR,
        figures={"registrations": 40, "foreign_registrations": 30, "platforms": {"android": 30}, "threshold": 20},
    )


def test_the_tam_sees_what_it_means_and_what_a_revocation_ends(raised, login_as, tam, client):
    admin = login_as(tam)
    listing = admin.get(reverse("admin:software_statements_signal_changelist"), {"state": "open"})
    assert "30 of the 40 clients registered with statement" in listing.content.decode()
    page = admin.get(reverse("admin:software_statements_signal_change", args=[raised.pk])).content.decode()
    assert "Revoke statement (ends 4 clients)" in page and "android (30)" in page
    admin.post(reverse("admin:software_statements_signal_acknowledge", args=[raised.pk]))
    raised.refresh_from_db()
    assert raised.acknowledged_by == tam
    assert (
        admin.get(reverse("admin:software_statements_signal_changelist"), {"state": "open"}).context["cl"].result_count
        == 0
    )
    admin.post(reverse("admin:software_statements_signal_revoke", args=[raised.pk]))
    raised.statement.refresh_from_db()
    assert raised.statement.revoked_at is not None and f"Abuse signal {raised.pk}" in raised.statement.revocation_reason
    assert admin.get(reverse("admin:software_statements_signal_revoke", args=[raised.pk])).status_code == 405


def test_the_programmer_sees_it_on_the_application_page_and_home(raised, login_as, rw_user, other_user, client):
    login_as(rw_user)
    page = client.get(reverse("registered_apps:application_detail", args=[raised.application_id])).content.decode()
    assert "Abuse signals" in page and "android (30)" in page and "ship an update" in page
    assert "0 · 0 · 0 · 0 · 0 · 0 · 0" in page  # registrations per day of a statement with none counted yet
    home = client.get(reverse("registered_apps:home")).content.decode()
    assert 'id="home-signals"' in home and "Foreign platform" in home
    client.logout()
    login_as(other_user)
    assert 'id="home-signals"' not in client.get(reverse("registered_apps:home")).content.decode()


def test_the_signals_are_counted_in_metrics(raised, client, settings):
    settings.DCR_METRICS_ENABLED = True
    settings.DCR_METRICS_TOKEN = ""
    text = client.get("/metrics").content.decode()
    assert 'dcr_abuse_signals{kind="foreign_platform",severity="warning",state="open"} 1.0' in text
    assert 'dcr_abuse_signals{kind="surge",severity="critical",state="open"} 0.0' in text


@override_settings(TAM_EMAILS=["tams@example.com"])
def test_each_signal_is_emailed_once(raised, rw_user, eager_tasks, django_capture_on_commit_callbacks):
    from software_statements.signal_emails import signal_email_send

    assert signal_email_send(raised.pk) == 2
    assert signal_email_send(raised.pk) == 0
    assert sorted(m.to[0] for m in mail.outbox) == sorted(["tams@example.com", rw_user.email])
    assert signals_compute_now() == []
