"""French where the admin's columns and filters come from model fields, in the admin's messages, in the audit
list's object names, and in a failed push's message, which is stored language-neutral and written in the
reader's language (README "Languages")."""

import json
import re

import pytest
from django.urls import reverse
from django.utils import translation

from registered_apps.models import AccountPreferences, AuditEvent, ChannelDomain, Platform, Push, PushStatus
from registered_apps.push_failures import failure_text
from registered_apps.services import changes
from tests.factories import make_application

pytestmark = pytest.mark.usefixtures("eager_tasks")
FRENCH = {"HTTP_ACCEPT_LANGUAGE": "fr-FR,fr;q=0.9"}
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


def _column_headers(html: str) -> list[str]:
    """The change list's column titles, as the admin writes them in <th scope="col">."""
    headers = re.findall(r'<th scope="col"[^>]*>(.*?)</th>', html, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", header).split()) for header in headers]


def _filter_titles(html: str) -> list[str]:
    return [" ".join(title.split()) for title in re.findall(r"<summary>\s*(.*?)\s*</summary>", html, re.S)]


def test_the_applications_change_list_has_french_columns_and_filters(admin_client, programmer, channels):
    make_application(programmer, name="Lecteur")
    url = reverse("admin:registered_apps_registeredapplication_changelist")

    french = admin_client.get(url, **FRENCH).content.decode()
    headers = _column_headers(french)
    for title in ("Nom", "Version", "Programmeur", "Niveau", "État", "Date de création"):
        assert title in headers, headers
    assert not {"Name", "Programmer", "Level", "Status", "Created at"} & set(headers)
    filters = _filter_titles(french)
    for title in ("Par environnement", "Par niveau", "Par chaînes", "Par plateformes", "Par portées"):
        assert title in filters, filters

    english = admin_client.get(url, **ENGLISH).content.decode()
    assert {"Name", "Programmer", "Level", "Created at"} <= set(_column_headers(english))
    assert "By environment" in _filter_titles(english)


def test_the_statements_and_clients_change_lists_have_french_columns(admin_client, credentials):
    statements = admin_client.get(reverse("admin:software_statements_softwarestatement_changelist"), **FRENCH)
    assert {"Date d’émission", "Identifiant de clé", "Application"} <= set(_column_headers(statements.content.decode()))
    assert "Par état" in _filter_titles(statements.content.decode())

    clients = admin_client.get(reverse("admin:oauth_client_changelist"), **FRENCH).content.decode()
    assert {"Identifiant client", "Application enregistrée", "Dernière utilisation"} <= set(_column_headers(clients))
    assert "Par plateforme" in _filter_titles(clients)


def test_an_admin_action_reports_in_french(admin_client, db):
    platform = Platform.objects.create(code="fr-tv", name="French TV")
    url = reverse("admin:registered_apps_platform_changelist")
    data = {"action": "retire", "_selected_action": [str(platform.pk)], "index": "0"}
    response = admin_client.post(url, data, **FRENCH)
    assert response.status_code == 302
    assert "1 entrée retirée." in admin_client.get(url, **FRENCH).content.decode()
    platform.refresh_from_db()
    assert not platform.active


def _choose_language(client, language: str) -> None:
    """The language menu at the foot of every page (kept on the account)."""
    client.post(reverse("registered_apps:language_choose"), {"language": language, "next": "/"})
    assert AccountPreferences.objects.get().language == language


def _failed_push(rw_user, staging, channels, tam) -> Push:
    """A push whose one change (deleting a domain) no longer applies: a TAM deleted the domain meanwhile."""
    from registered_apps import services

    services.channel_domain_add(channel=channels[1], host="gone.example.com", actor=tam, environment=staging)
    changes.channel_domain_remove_stage(user=rw_user, environment=staging, channel=channels[1], host="gone.example.com")
    services.channel_domain_remove(domain=ChannelDomain.objects.get(host="gone.example.com"), actor=tam)
    push = changes.pending_changes_push(user=rw_user, environment=staging, description="Retrait")
    assert push.status == PushStatus.FAILED
    return push


def test_a_failed_push_is_stored_language_neutral_and_read_in_each_readers_language(
    client, rw_user, programmer, channels, staging, tam
):
    # Pushed by someone reading French: what is stored is neither French nor a finished English sentence.
    with translation.override("fr"):
        push = _failed_push(rw_user, staging, channels, tam)
    stored = json.loads(push.failure)
    assert stored["code"] == "change" and stored["position"] == 1 and stored["count"] == 1
    assert stored["reasons"] == [
        {
            "message": "Channel %(channel)s has no domain %(host)s in %(environment)s (deleted meanwhile?).",
            "params": {"channel": "demo-two", "host": "gone.example.com", "environment": "Release Staging"},
        }
    ]

    english = (
        "Change 1 of 1 (Delete domain gone.example.com of channel demo-two): Channel demo-two has no domain "
        "gone.example.com in Release Staging (deleted meanwhile?)."
    )
    french = (
        "Modification 1 sur 1 (Supprimer le domaine gone.example.com de la chaîne demo-two) : La chaîne demo-two "
        "n’a pas de domaine gone.example.com dans Release Staging (supprimé entre-temps ?)."
    )
    with translation.override("en"):
        assert failure_text(push.failure) == english
    # The audit event keeps the English, as the logs do.
    assert AuditEvent.objects.get(action="push.failed").details["failure"] == english

    # The changes log: French for a French reader, English for an English one.
    url = reverse("registered_apps:programmer_changes", kwargs={"programmer_slug": programmer.slug})
    client.force_login(rw_user)
    _choose_language(client, "fr")
    page = client.get(url, {"environment": staging.slug}).content.decode()
    assert french in page
    _choose_language(client, "en")
    page = client.get(url, {"environment": staging.slug}).content.decode()
    assert "Change 1 of 1 (Delete domain gone.example.com of channel demo-two)" in page


def test_a_failed_push_reads_in_french_in_the_admin(admin_client, rw_user, channels, staging, tam):
    push = _failed_push(rw_user, staging, channels, tam)
    page = admin_client.get(reverse("admin:registered_apps_push_change", args=[push.pk]), **FRENCH).content.decode()
    assert "n’a pas de domaine gone.example.com dans Release Staging" in page
    assert '"code"' not in page


def test_a_failure_kept_as_text_before_codes_reads_as_it_was(db):
    assert failure_text("Change 1 of 1 (Add channel x): taken.") == "Change 1 of 1 (Add channel x): taken."


def test_the_audit_list_names_objects_in_french(client, rw_user, programmer, channels, staging, tam):
    changes.custom_scheme_create_stage(user=rw_user, environment=staging, channel=channels[0])
    changes.custom_scheme_create_stage(user=rw_user, environment=staging, channel=channels[1])
    changes.pending_changes_dismiss(user=rw_user, environment=staging)
    changes.custom_scheme_create_stage(user=rw_user, environment=staging, channel=channels[0])
    push = changes.pending_changes_push(user=rw_user, environment=staging, description="Schéma")
    assert push.status == PushStatus.SUCCESSFUL

    client.force_login(rw_user)
    _choose_language(client, "fr")
    url = reverse("registered_apps:programmer_changes_audit", kwargs={"programmer_slug": programmer.slug})
    text = " ".join(re.sub(r"<[^>]+>", " ", client.get(url).content.decode()).split())
    assert f"Poussée n° {push.pk} vers Release Staging" in text
    assert "2 modifications en attente" in text
    assert "Push #" not in text and "pending changes" not in text


def test_the_programmer_and_environment_forms_help_and_lifetimes_read_in_french(admin_client, programmer):
    form = admin_client.get(
        reverse("admin:registered_apps_programmer_change", args=[programmer.pk]), **FRENCH
    ).content.decode()
    assert "30 jours" in form and "30 days" not in form
    assert "Vide : les déclarations n’expirent jamais." in form
    environment = admin_client.get(reverse("admin:registered_apps_environment_add"), **FRENCH).content.decode()
    assert "Position dans le menu des environnements du tableau de bord." in environment
    assert "Position in the dashboard" not in environment
    english = admin_client.get(
        reverse("admin:registered_apps_programmer_change", args=[programmer.pk]), **ENGLISH
    ).content.decode()
    assert "30 days" in english and "Blank: statements never expire." in english
