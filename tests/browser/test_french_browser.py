"""The whole programmer flow in French in Chromium, at 1280 and 375 px: sign in, create, review, push, a second
push, the changes log and its comparison, the application page and its download, usage, the revocation
request, and the TAM's revoke in the admin. On each page a test reads the rendered text (and the labels a
screen reader reads) for English left over, and checks that nothing overflows with the longer French words;
the `new_page` fixture fails the test on any Content-Security-Policy violation.

Screenshots of the French home, review and application pages go to screens/ (gitignored)."""

import re
from pathlib import Path

import polib
import pytest
from playwright.sync_api import expect

from registered_apps.models import Channel, Environment, Platform, Programmer, RegisteredApplication, Scope
from tests.browser.pages import PASSWORD
from tests.two_factor import authenticator, current_code
from tools.i18n_check import CATALOGUE

SCREENS = Path(__file__).resolve().parents[2] / "screens"
WORD = re.compile(r"[^\W\d_][^\W\d_’']{3,}")
# Words of our English messages that are also French, or names the pages show as they are.
SAME_IN_FRENCH = {
    "application",
    "applications",
    "configuration",
    "version",
    "clients",
    "client",
    "pagination",
    "navigation",
    "type",
    "production",
    "options",
    "message",
    "messages",
    "page",
    "pages",
    "total",
    "domaine",
    "https",
    "scheme",
    "requestor",
    "invalid_client",
    "jti",
    "registry",
    "english",
}


def _english_words() -> set[str]:
    """Words of the catalogue's English that its French never uses: on a French page, each is a leftover."""
    english: set[str] = set()
    french: set[str] = set()
    for entry in polib.pofile(str(CATALOGUE)):
        english |= {word.lower() for word in WORD.findall(re.sub(r"<[^>]+>|%\(\w+\)s|\{\w+\}", " ", entry.msgid))}
        for text in [entry.msgstr, *entry.msgstr_plural.values()]:
            french |= {word.lower() for word in WORD.findall(text)}
    return english - french - SAME_IN_FRENCH


ENGLISH = _english_words()


def _data_names() -> list[str]:
    """What the pages show as the data says it (names typed by people or seeded): not translated."""
    names = [*Platform.objects.values_list("name", flat=True), *Scope.objects.values_list("name", flat=True)]
    names += [*Platform.objects.values_list("code", flat=True), *Scope.objects.values_list("code", flat=True)]
    names += [*Environment.objects.values_list("name", flat=True), *Programmer.objects.values_list("name", flat=True)]
    names += [*Channel.objects.values_list("name", flat=True), *Channel.objects.values_list("slug", flat=True)]
    names += [*Programmer.objects.values_list("slug", flat=True)]
    return sorted(names, key=len, reverse=True)


def assert_french(page, where: str) -> None:
    """No English word of our messages in the page's text, its labels or its titles; nothing overflows."""
    page.wait_for_load_state()
    text = page.evaluate(
        """() => [document.title, document.body.innerText,
                  ...[...document.querySelectorAll('[aria-label], [title], [placeholder], [alt], [data-label]')]
                    .flatMap(e => ['aria-label', 'title', 'placeholder', 'alt', 'data-label']
                      .map(a => e.getAttribute(a) || ''))].join('\\n')"""
    )
    for name in _data_names():
        text = text.replace(name, " ")
    leftovers = sorted({word for word in WORD.findall(text) if word.lower() in ENGLISH})
    contexts = [
        text[max(m.start() - 40, 0) : m.end() + 40] for m in WORD.finditer(text) if m.group().lower() in ENGLISH
    ]
    assert not leftovers, f"{where}: English left on the page: {leftovers} in {contexts}"
    assert page.locator("html").get_attribute("lang") == "fr", where
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{where}: the page scrolls sideways by {overflow} px"
    spilled = page.evaluate(
        """() => [...document.querySelectorAll('.button, button, .badge, .chip, .tabs a, label, h1, h2, .stat .label')]
             .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1
                     && getComputedStyle(e).overflowX !== 'auto')
             .map(e => e.textContent.trim().slice(0, 60))"""
    )
    assert not spilled, f"{where}: text wider than its box: {spilled}"


def _shot(page, name: str, width: int) -> None:
    SCREENS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENS / f"fr-{name}-{width}.png"), full_page=True)


@pytest.mark.parametrize("width", [1280, 375])
def test_the_programmer_flow_and_the_admins_revoke_read_in_french(
    width, new_page, eager_tasks, rw_user, tam, programmer, channels
):
    phone = {"is_mobile": True, "has_touch": True} if width < 500 else {}
    page = new_page(width=width, height=900, locale="fr-FR", **phone)

    page.goto("/")
    assert_french(page, "sign-in")
    page.get_by_label("Nom d’utilisateur").fill("rw")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name="Vos programmeurs")).to_be_visible()
    assert_french(page, "home")
    _shot(page, "home", width)

    # Create: a pending change until it is reviewed and pushed.
    page.get_by_role("link", name="Demo Networks").click()
    assert_french(page, "applications")
    page.get_by_role("link", name="Nouvelle application").first.click()
    assert_french(page, "create")
    page.get_by_label("Nom de l’application").fill("Lecteur salon")
    page.get_by_label("Seulement les chaînes que je choisis").check()
    page.get_by_role("group", name="Chaînes choisies").get_by_label("demo-one").check()
    page.get_by_role("group", name="Plateformes").get_by_label("iOS", exact=True).check()
    page.get_by_role("group", name="Portées").get_by_label("api:client:v2").check()
    page.get_by_role("button", name="Créer l’application").click()
    expect(page.get_by_text("« Lecteur salon 1.0.0 » est une modification en attente")).to_be_visible()
    assert_french(page, "created")

    # Review and push.
    page.get_by_role("link", name="Vérifier", exact=True).click()
    expect(page.get_by_role("heading", name="Vérifier les modifications en attente")).to_be_visible()
    assert_french(page, "review")
    _shot(page, "review", width)
    page.get_by_label("Description de la configuration").fill("Lancement du lecteur salon")
    page.get_by_role("button", name="Pousser les modifications").click()
    expect(page.get_by_text("1 modification poussée(s) vers")).to_be_visible()
    assert_french(page, "changes log")

    # A second push (a custom scheme of a channel), for the comparison.
    page.goto(f"/channels/{channels[0].slug}/channel/")
    assert_french(page, "channel")
    page.get_by_role("button", name="Générer un schéma personnalisé").click()
    page.get_by_role("link", name="Vérifier", exact=True).click()
    page.get_by_label("Description de la configuration").fill("Schéma pour les téléphones")
    page.get_by_role("button", name="Pousser les modifications").click()
    page.goto(f"/programmers/{programmer.slug}/changes/")
    assert_french(page, "changes log, two pushes")
    for checkbox in page.get_by_label("Sélectionner pour comparer").all()[:2]:
        checkbox.check()
    page.get_by_role("button", name="Comparer").click()
    expect(page.get_by_role("heading", name="Comparer")).to_be_visible()
    assert_french(page, "compare")

    # The application page and its statement.
    application = RegisteredApplication.objects.get(name="Lecteur salon")
    page.goto(f"/applications/{application.pk}/")
    assert_french(page, "application")
    with page.expect_download() as download:
        page.get_by_role("button", name="Télécharger la déclaration logicielle").click()
    assert download.value.suggested_filename.startswith("software_statement_")
    page.reload()
    assert page.locator("#statements tbody tr").count() == 1
    assert_french(page, "application with a statement")
    _shot(page, "application", width)

    page.goto(f"/programmers/{programmer.slug}/usage/")
    assert_french(page, "usage")

    # The revocation request.
    page.goto(f"/applications/{application.pk}/")
    page.get_by_role("link", name="Demander la révocation").click()
    assert_french(page, "revocation request")
    page.get_by_label("Pourquoi révoquer cette application ?").fill("La déclaration a fuité sur un forum.")
    page.get_by_role("button", name="Envoyer la demande").click()
    expect(page.get_by_text("Révocation demandée").first).to_be_visible()
    assert_french(page, "revocation requested")

    # The TAM revokes it in the admin, in French too.
    admin = new_page(width=width, height=900, locale="fr-FR", **phone)
    admin.goto("/admin/login/?next=/admin/registered_apps/registeredapplication/")
    admin.get_by_label("Nom d’utilisateur").fill("tam")
    admin.get_by_label("Mot de passe").fill(PASSWORD)
    admin.get_by_label("Code d’authentification").fill(current_code(authenticator(tam)))
    admin.get_by_role("button", name="Connexion").click()
    # The change list's columns and filters are the model fields' names: in French too.
    expect(admin.locator("#result_list thead")).to_contain_text("Date de création")
    expect(admin.locator("#changelist-filter")).to_contain_text("Par environnement")
    assert_french(admin, "admin change list")
    admin.locator("#result_list input.action-select").first.check()
    admin.locator("select[name=action]").select_option(label="Révoquer les applications sélectionnées…")
    admin.get_by_role("button", name="Envoyer").click()
    expect(admin.get_by_role("heading", name="Applications à révoquer (1)")).to_be_visible()
    assert_french(admin, "admin revoke")
    admin.get_by_label("Motif").fill("Fuite confirmée.")
    admin.get_by_role("button", name="Révoquer 1 application").click()
    expect(admin.get_by_text("1 application révoquée.")).to_be_visible()
    application.refresh_from_db()
    assert not application.is_active

    page.goto(f"/applications/{application.pk}/")
    expect(page.locator("#revocation-notice")).to_contain_text("Révoquée")
    assert_french(page, "revoked application")
