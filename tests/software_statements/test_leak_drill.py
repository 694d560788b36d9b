"""The leaked-statement drill (README "Abuse signals"): honest devices register at a steady rate, then a
statement leaks: a burst of registrations from many addresses, from Android devices, for an iOS-only
application. One run of the signals task (the beat's) raises the signals and sends their e-mails; the
TAM's "tighten quota" refuses the next registration within a second; and the honest devices of another
statement get every token they ask for throughout. Real Redis, PostgreSQL, HTTP and JWS."""

import datetime
import time

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from oauth.tasks import signals_compute_now
from software_statements.models import Signal, SignalKind, StatementHour
from software_statements.services import software_statement_issue
from tests.oauth.api import device_info_header, register, token_request

ANDROID = device_info_header({"osName": "Android", "model": "Pixel 8"})
IOS = device_info_header({"osName": "iOS", "model": "iPhone15,2"})
HONEST_DEVICES = 10
BURST = 160
THRESHOLDS = {
    "DCR_SIGNAL_SURGE_MIN": 50,
    "DCR_SIGNAL_SURGE_FACTOR": 5.0,
    "DCR_SIGNAL_FOREIGN_MIN": 20,
    "DCR_SIGNAL_FOREIGN_SHARE": 0.2,
    # High enough that only the throttle per address matters in the drill (each burst address is new).
    "DCR_THROTTLE_BURST": 1000.0,
}


def _registered(client, statement, address, info):
    response = register(client, statement, REMOTE_ADDR=address, HTTP_X_DEVICE_INFO=info)
    assert response.status_code == 201, response.content
    return response.json()


class HonestFleet:
    """Devices registered with the application's other statement, asking for tokens all along."""

    def __init__(self, client, statement):
        self.client = client
        self.devices = [_registered(client, statement, f"192.0.2.{n + 1}", IOS) for n in range(HONEST_DEVICES)]
        self.asked = self.failed = 0

    def tokens(self):
        for device in self.devices:
            response = token_request(
                self.client,
                {
                    "grant_type": "client_credentials",
                    "client_id": device["client_id"],
                    "client_secret": device["client_secret"],
                },
                REMOTE_ADDR="192.0.2.200",
            )
            self.asked += 1
            self.failed += response.status_code != 200


def _history(statement, per_hour):
    """The leaked statement's last week: `per_hour` honest registrations every hour (the baseline)."""
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    StatementHour.objects.bulk_create(
        StatementHour(
            statement=statement,
            application=statement.application,
            hour=now - datetime.timedelta(hours=h),
            registrations=per_hour,
        )
        for h in range(1, 7 * 24 + 1)
    )
    type(statement).objects.filter(pk=statement.pk).update(issued_at=now - datetime.timedelta(days=8))


@pytest.mark.django_db
@override_settings(**THRESHOLDS, TAM_EMAILS=["tams@example.com"])
def test_leaked_statement_drill(
    client, application, rw_user, tam, login_as, eager_tasks, django_capture_on_commit_callbacks
):
    leaked_token, leaked = software_statement_issue(application=application, actor="tests")
    other_token, _ = software_statement_issue(application=application, actor="tests")
    _history(leaked, per_hour=4)
    fleet = HonestFleet(client, other_token)

    # Honest registrations at a steady rate (iOS, as the application is made for).
    for n in range(8):
        _registered(client, leaked_token, f"198.51.100.{n + 1}", IOS)
        fleet.tokens()
    assert signals_compute_now() == []  # nothing unusual yet

    # The leak: Android devices from many addresses (one per /24), with honest tokens in between.
    for n in range(BURST):
        _registered(client, leaked_token, f"10.{n // 200}.{n % 200}.7", ANDROID)
        if n % 20 == 0:
            fleet.tokens()
    burst_ended = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        raised = signals_compute_now()  # one beat period's run
    signal_seconds = time.monotonic() - burst_ended
    kinds = set(Signal.objects.filter(pk__in=raised).values_list("kind", flat=True))
    assert kinds == {SignalKind.SURGE, SignalKind.FOREIGN_PLATFORM}
    surge = Signal.objects.get(kind=SignalKind.SURGE)
    assert surge.statement_id == leaked.jti
    assert surge.figures["registrations"] == 8 + BURST and surge.figures["baseline_per_hour"] == 4.0
    foreign = Signal.objects.get(kind=SignalKind.FOREIGN_PLATFORM)
    assert foreign.figures["platforms"] == {"android": BURST}
    # The e-mails went out: the TAMs, and the programmer's read-write member, once per signal.
    recipients = sorted(address for message in mail.outbox for address in message.to)
    assert recipients.count(rw_user.email) == 2 and "tams@example.com" in recipients
    assert all(message.subject for message in mail.outbox)
    assert "ship an update" in mail.outbox[-1].body or any("ship an update" in m.body for m in mail.outbox)
    sent = len(mail.outbox)
    fleet.tokens()
    assert signals_compute_now() == [] and len(mail.outbox) == sent  # still going on: no second e-mail

    # The TAM tightens the quota from the signal's page; the next registration is refused within a second.
    admin = login_as(tam)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(reverse("admin:software_statements_signal_tighten", args=[surge.pk]))
    tightened = time.monotonic()
    assert response.status_code == 302
    admin.logout()
    refused_after = None
    for n in range(50):
        response = register(client, leaked_token, REMOTE_ADDR=f"10.9.{n}.7", HTTP_X_DEVICE_INFO=ANDROID)
        if response.status_code == 429:
            refused_after = time.monotonic() - tightened
            break
        fleet.tokens()
    assert refused_after is not None and refused_after < 1.0
    assert response.json()["error"] == "too_many_requests"
    fleet.tokens()
    assert fleet.failed == 0 and fleet.asked >= HONEST_DEVICES * 12
    print(
        f"\ndrill: signal raised {signal_seconds * 1000:.0f} ms after the burst's last registration (one run); "
        f"quota refused a registration {refused_after * 1000:.0f} ms after the TAM's click; "
        f"honest tokens {fleet.asked} asked, {fleet.failed} failed"
    )
