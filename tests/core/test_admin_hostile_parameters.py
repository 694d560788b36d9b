"""Every admin the site registers, ours and third-party ones (users, groups, lock-outs, authenticator
apps, recovery codes), answers hostile list parameters, `_to_field` values and date lookups with a 4xx
or Django's `?e=1` redirect, never a 5xx. The walk reads `admin.site._registry`, so an admin registered
later is covered without a change here."""

from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import models
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice

import dcr_project.urls  # noqa: F401  # the admin site's class and every app's admin registered
from core.admin_lists import BoundedChangeList
from tests.factories import UserFactory
from tests.two_factor import authenticator

REGISTERED = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)
NOT_A_FIELD = "no_such_field"
LONG = "x" * 5000


def _date_fields(model) -> list[str]:
    return [field.name for field in model._meta.get_fields() if isinstance(field, models.DateField)]


def _to_field_values(model) -> list[str]:
    """Every name the model's options know (reverse relations such as Group's "user" included), and some
    that name nothing."""
    names = [field.name for field in model._meta.get_fields(include_hidden=True)]
    return [*names, NOT_A_FIELD, "pk", "id__exact", "", LONG]


def _list_queries(model) -> list[dict[str, str]]:
    queries: list[dict[str, str]] = []
    for name in _date_fields(model):
        for lookup, value in (("year", "99999"), ("month", "13"), ("day", "0"), ("gte", "notadate")):
            queries.append({f"{name}__{lookup}": value})
            queries.append({f"{name}__{lookup}": value, "_facets": "True"})
        queries.append({f"{name}__year": "2026", f"{name}__month": "99999999999999999999"})
        queries.append({f"{name}__lt": "1e9999"})
    for to_field in _to_field_values(model):
        queries.append({"_popup": "1", "_to_field": to_field})
    queries += [
        {"o": "junk"},
        {"o": "99.-x.1e9999"},
        {"o": "-"},
        {"p": "999999999"},
        {"p": "-1"},
        {"p": "x"},
        {"q": "a\x00b"},
        {"q": LONG},
        {"q": LONG, "_facets": "True"},
        {NOT_A_FIELD: "1"},
        {f"{NOT_A_FIELD}__in": "1,2"},
        {"pk__in": "x,y"},
        {"pk__gt": LONG},
        {"e": "1"},
        {"all": ""},
    ]
    return queries


@pytest.fixture
def rows(tam, application):
    """At least one row for most registered models, so that change pages and filters meet real data."""
    authenticator(tam)
    StaticDevice.objects.create(user=tam, name="Recovery codes", confirmed=True)
    Group.objects.create(name="Support")


def test_every_registered_admin_uses_the_bounded_change_list():
    """The change list that turns lookups it cannot apply into `?e=1` (core.admin_lists)."""
    for model, model_admin in REGISTERED:
        assert issubclass(model_admin.get_changelist(None), BoundedChangeList), model._meta.label


@pytest.mark.parametrize("model,model_admin", REGISTERED, ids=[model._meta.label for model, _ in REGISTERED])
def test_hostile_admin_parameters_are_never_a_5xx(login_as, tam, rows, model, model_admin):
    client: Client = login_as(tam)
    client.raise_request_exception = False
    prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    changelist = reverse(f"{prefix}_changelist")
    failures = []

    def check(url: str) -> None:
        response = client.get(url)
        if response.status_code >= 500:
            failures.append((response.status_code, url[:200]))

    for query in _list_queries(model):
        check(f"{changelist}?{urlencode(query)}")

    first = model._default_manager.order_by("pk").first()
    # An admin that allows no adding answers its add page with 403, which is fine too.
    pages = [reverse(f"{prefix}_change", args=[first.pk if first else 1]), reverse(f"{prefix}_add")]
    for page in pages:
        for to_field in _to_field_values(model):
            check(f"{page}?{urlencode({'_popup': '1', '_to_field': to_field})}")

    assert not failures, failures


@pytest.mark.parametrize(
    "path",
    [
        "/admin/auth/user/?date_joined__year=99999",
        "/admin/auth/user/?last_login__year=99999",
        "/admin/otp_totp/totpdevice/?created_at__year=99999",
        "/admin/otp_static/staticdevice/?created_at__year=99999",
        "/admin/axes/accessattempt/?attempt_time__year=2026&attempt_time__month=99999999999999999999",
    ],
)
def test_third_party_admins_answer_a_date_they_cannot_apply_with_django_e_1(login_as, tam, rows, path):
    response = login_as(tam).get(path)
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


@pytest.mark.parametrize(
    "path",
    [
        "/admin/auth/group/?_popup=1&_to_field=user",
        "/admin/auth/user/?_popup=1&_to_field=logentry",
        "/admin/registered_apps/programmer/?_popup=1&_to_field=channels",
        "/admin/auth/user/1/change/?_popup=1&_to_field=",
        "/admin/auth/group/add/?_popup=1&_to_field=user",
    ],
)
def test_a_to_field_that_names_no_column_is_a_400(login_as, tam, rows, path):
    assert login_as(tam).get(path).status_code == 400


def test_the_guards_leave_ordinary_lists_and_pop_ups_alone(login_as, tam, rows):
    client = login_as(tam)
    newcomer = UserFactory(username="newcomer")
    link = f"/admin/auth/user/{newcomer.pk}/change/"
    year = newcomer.date_joined.year
    assert link in client.get(f"/admin/auth/user/?date_joined__year={year}").content.decode()
    assert link not in client.get(f"/admin/auth/user/?date_joined__year={year - 1}").content.decode()
    # The pop-ups Django's own widgets open (raw-id and related-object lookups by primary key) still work.
    assert client.get("/admin/auth/user/?_popup=1&_to_field=id").status_code == 200
    assert client.get(f"/admin/auth/user/{tam.pk}/change/?_popup=1&_to_field=id").status_code == 200
    assert client.get("/admin/auth/group/?_popup=1&_to_field=id").status_code == 200
