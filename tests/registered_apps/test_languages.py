"""The dashboard in French (README "Languages"): which language a page is in (the account's choice, else the
language cookie, else Accept-Language, else English), the account's time zone, French e-mails, the API left
in English, CSV columns unchanged, and the catalogue and lint check that keep it complete."""

import csv
import io
import re
from datetime import UTC, datetime

import polib
import pytest
from django.urls import reverse

from registered_apps import services
from registered_apps.models import AccountPreferences
from tests.factories import make_application
from tools import i18n_check
from tools.compile_messages import compile_messages

pytestmark = pytest.mark.usefixtures("eager_tasks")


def _text(response) -> str:
    return response.content.decode()


def test_a_signed_out_page_follows_accept_language_and_says_so(client, db):
    french = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9,en;q=0.5")
    assert '<html lang="fr">' in _text(french)
    assert "Connectez-vous à votre tableau de bord" in _text(french)
    assert french["Content-Language"] == "fr"
    assert "Accept-Language" in french["Vary"]

    for header in ("de-DE,de;q=0.9", ""):
        english = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE=header)
        assert "Sign in to your dashboard" in _text(english)
        assert english["Content-Language"] == "en"


def test_the_language_menu_sets_a_cookie_that_beats_accept_language_and_goes_back(client, db):
    response = client.post(
        reverse("registered_apps:language_choose"),
        {"language": "fr", "next": "/accounts/password_reset/"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 302 and response["Location"] == "/accounts/password_reset/"
    assert response.cookies["django_language"].value == "fr"
    page = client.get("/accounts/password_reset/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Réinitialiser votre mot de passe" in _text(page)

    # A language we do not have is no choice: the cookie goes, the browser's language is back.
    client.post(reverse("registered_apps:language_choose"), {"language": "xx", "next": "/accounts/login/"})
    assert "Sign in to your dashboard" in _text(client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en"))


def test_a_foreign_next_is_not_followed(client, db):
    response = client.post(reverse("registered_apps:language_choose"), {"language": "fr", "next": "//evil.example/"})
    assert response["Location"] == reverse("registered_apps:home")


def test_the_accounts_language_beats_the_browser_and_follows_the_account_to_a_new_session(
    client, rw_user, programmer, channels
):
    client.force_login(rw_user)
    client.post(reverse("registered_apps:language_choose"), {"language": "fr", "next": "/"})
    assert AccountPreferences.objects.get(user=rw_user).language == "fr"
    assert "Vos programmeurs" in _text(client.get("/", HTTP_ACCEPT_LANGUAGE="en"))

    client.logout()
    client.cookies.clear()
    client.force_login(rw_user)  # another browser: no cookie, an English Accept-Language
    assert "Vos programmeurs" in _text(client.get("/", HTTP_ACCEPT_LANGUAGE="en-US"))


def test_the_account_time_zone_and_language_shape_dates_and_numbers(client, rw_user, programmer, channels):
    application = make_application(programmer, name="Player")
    application.created_at = datetime(2026, 12, 7, 21, 30, tzinfo=UTC)
    application.save(update_fields=["created_at"])
    client.force_login(rw_user)
    url = reverse("registered_apps:application_detail", kwargs={"application_id": application.pk})
    assert "Dec 7, 2026 21:30 UTC" in _text(client.get(url))

    response = client.post(
        reverse("registered_apps:preferences"), {"language": "fr", "time_zone": "Europe/Paris"}, follow=True
    )
    assert "Vos préférences sont enregistrées." in _text(response)
    page = _text(client.get(url))
    assert "7 déc. 2026 22:30 CET" in page

    # An unknown zone is refused by the form; nothing is saved.
    bad = client.post(reverse("registered_apps:preferences"), {"language": "fr", "time_zone": "Mars/Olympus"})
    assert bad.status_code == 200
    assert AccountPreferences.objects.get(user=rw_user).time_zone == "Europe/Paris"


def test_numbers_are_grouped_as_the_language_writes_them(rw_user):
    from django.utils import translation

    from registered_apps.templatetags.dashboard import client_count, thousands

    with translation.override("en"):
        assert thousands(1234567) == "1,234,567" and client_count(10_001) == "10,000+"
    with translation.override("fr"):
        assert thousands(1234567).replace("\u202f", " ").replace("\xa0", " ") == "1 234 567"


def test_the_api_answers_in_english_whatever_the_browser_asks(client, db):
    from oauth.middleware import API_PREFIXES
    from registered_apps.preferences import API_PREFIXES as UNTRANSLATED

    assert UNTRANSLATED == API_PREFIXES

    response = client.post("/o/client/token", {"grant_type": "client_credentials"}, HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code in (400, 401)
    body = response.json()
    assert body["error"] in ("invalid_request", "invalid_client")
    assert "Content-Language" not in response
    assert not re.search(r"[éèàç]", body.get("error_description", ""))


def test_csv_columns_stay_machine_readable_in_french(client, rw_user, programmer, channels):
    make_application(programmer, name="Player")
    client.force_login(rw_user)
    client.post(reverse("registered_apps:language_choose"), {"language": "fr", "next": "/"})
    url = reverse("registered_apps:programmer_usage_csv", kwargs={"programmer_slug": programmer.slug})
    response = client.get(url + "?by=application")
    content = b"".join(response.streaming_content) if response.streaming else response.content
    rows = list(csv.reader(io.StringIO(content.decode())))
    assert rows[0] == ["software_id", "name", "version", "status", "environment", "registrations", "tokens"]


def test_emails_go_out_in_the_language_of_the_recipients_account(
    programmer, application, rw_user, channel_user, tam, mailoutbox, django_capture_on_commit_callbacks
):
    AccountPreferences.objects.create(user=rw_user, language="fr")
    with django_capture_on_commit_callbacks(execute=True):
        services.registered_application_revoke(application=application, reason="Fin du contrat", actor=tam)
    by_address = {message.to[0]: message for message in mailoutbox}
    french, english = by_address[rw_user.email], by_address[channel_user.email]
    assert french.subject.startswith("Application révoquée") and "Bonjour," in french.body
    assert 'lang="fr"' in french.alternatives[0][0]
    assert english.subject.startswith("Application revoked") and "Hello," in english.body


def test_the_french_catalogue_is_complete_and_compiles_without_gettext(tmp_path):
    assert i18n_check.catalogue_problems(i18n_check.needed_messages()) == []
    locale = tmp_path / "locale"
    (locale / "fr" / "LC_MESSAGES").mkdir(parents=True)
    source = polib.pofile(str(i18n_check.CATALOGUE))
    source.save(str(locale / "fr" / "LC_MESSAGES" / "django.po"))
    [written] = compile_messages(locale)
    compiled = polib.mofile(str(written))
    assert compiled.find("Pending changes").msgstr == "Modifications en attente"
    assert compile_messages(locale) == []  # up to date: not rewritten


def test_the_lint_check_finds_unmarked_text_and_accepts_marked_text():
    unmarked = i18n_check.untranslated_text(
        '{% load i18n %}<h1>Pending changes</h1><a title="Go home" href="/">{% translate "Home" %}</a>'
        "<p>{% blocktranslate %}In {{ name }}{% endblocktranslate %} · <code>invalid_client</code></p>"
        "{# a comment #}{% comment %}Not shown{% endcomment %}"
    )
    assert unmarked == ["Pending changes", "Go home"]


def test_the_lint_check_finds_a_missing_a_fuzzy_and_a_wrong_placeholder_entry(tmp_path, monkeypatch):
    catalogue = polib.POFile()
    catalogue.append(polib.POEntry(msgid="Home", msgstr="Accueil"))
    catalogue.append(polib.POEntry(msgid="Review", msgstr="Vérifier", flags=["fuzzy"]))
    catalogue.append(polib.POEntry(msgid="In %(name)s", msgstr="Dans %(nom)s"))
    path = tmp_path / "django.po"
    catalogue.save(str(path))
    monkeypatch.setattr(i18n_check, "CATALOGUE", path)
    monkeypatch.setattr(i18n_check, "ROOT", tmp_path)
    needed = {(None, "Home"): "a", (None, "Review"): "b", (None, "In %(name)s"): "c", (None, "Push"): "d"}
    problems = i18n_check.catalogue_problems(needed)
    assert len(problems) == 3
    assert any("fuzzy" in p for p in problems) and any("missing" in p for p in problems)
    assert any("placeholders" in p for p in problems)
