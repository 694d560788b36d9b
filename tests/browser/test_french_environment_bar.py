"""The environment bar in French on a 375 px phone (README "Languages", "Environments"): the menu's label, the
whole name of the chosen environment, the Switch button and the pending changes with their Review link all
stay inside the screen, and the page never scrolls sideways."""

from playwright.sync_api import expect

from registered_apps.models import Environment
from registered_apps.services import changes
from tests.browser.pages import PASSWORD

# The longest of the environments the migrations create.
LONGEST = "Prequal Production"


def _outside(page, selector: str) -> list[str]:
    """The visible elements of `selector` that reach past the screen's right edge, or are cut by their own
    box (a select showing only part of its chosen option)."""
    return page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)]
             .filter(e => e.offsetParent !== null)
             .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5
                          || e.getBoundingClientRect().left < -0.5
                          || e.scrollWidth > e.clientWidth + 1)
             .map(e => e.tagName + ' ' + (e.textContent || e.value || '').trim().slice(0, 40))""",
        selector,
    )


def _select_shows_its_whole_choice(page, selector: str = "#environment-menu") -> bool:
    """Whether the chosen option fits in the select: the select is at least as wide as the option's text
    written in its own font (plus its padding and arrow)."""
    return page.evaluate(
        """(selector) => {
             const select = document.querySelector(selector);
             const style = getComputedStyle(select);
             const canvas = document.createElement('canvas').getContext('2d');
             canvas.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
             const text = canvas.measureText(select.options[select.selectedIndex].text).width;
             const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
             return select.getBoundingClientRect().width >= text + padding + 16;
           }""",
        selector,
    )


def test_the_environment_bar_fits_a_phone_in_french(new_page, rw_user, programmer, channels):
    environment = Environment.objects.get(name=LONGEST)
    for channel in channels[:2]:
        changes.custom_scheme_create_stage(user=rw_user, environment=environment, channel=channel)

    page = new_page(width=375, height=812, locale="fr-FR", is_mobile=True, has_touch=True)
    page.goto("/")
    page.get_by_label("Nom d’utilisateur").fill("rw")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("link", name="Demo Networks").click()
    bar = page.locator(".envbar")
    page.get_by_label("Environnement").select_option(label=LONGEST)
    bar.get_by_role("button", name="Changer").click()
    page.wait_for_load_state()

    expect(page.get_by_label("Environnement")).to_have_value(environment.slug)
    expect(bar.get_by_role("status")).to_contain_text("2 modifications en attente")
    expect(bar.get_by_role("link", name="Vérifier", exact=True)).to_be_visible()
    assert _outside(page, ".envbar label, .envbar select, .envbar button, .envbar .button, .envbar strong") == []
    assert _select_shows_its_whole_choice(page), "the menu cuts the environment's name"
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px"

    # The bar still works from the phone: back to production.
    page.get_by_label("Environnement").select_option(index=0)
    bar.get_by_role("button", name="Changer").click()
    expect(page.get_by_label("Environnement")).not_to_have_value(environment.slug)

    # The application list's filters: each choice whole ("Toutes les plateformes"), one filter a row.
    page.goto(f"/programmers/{programmer.slug}/")
    for name in ("status", "platform", "channel"):
        assert _select_shows_its_whole_choice(page, f".filters select[name={name}]"), f"the {name} filter is cut"
    assert _outside(page, ".filters select, .filters input, .filters button") == []
