"""The Content-Security-Policy in a real browser: present on every page, and nothing on the dashboard, the
admin or /api/docs/ needs what it forbids (the new_page fixture fails the test on any violation)."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.pages import admin_sign_in, sign_in
from tests.factories import make_application
from tests.two_factor import authenticator, current_code


def visit(page, path: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status < 400, (path, response and response.status)
    policy = response.header_value("content-security-policy") or ""
    assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe-inline" not in policy, path
    page.wait_for_load_state("load")


def test_the_violation_detector_sees_an_inline_script_and_style(new_page, live_server, csp_violations):
    """The fixture's check would pass vacuously if it never saw a violation: show it one."""
    page = new_page()
    policy = page.goto("/accounts/login/").header_value("content-security-policy")
    page.route(
        "**/csp-probe",
        lambda route: route.fulfill(
            status=200,
            headers={"Content-Type": "text/html", "Content-Security-Policy": policy},
            body='<!doctype html><p style="color: red">x</p><script>document.title = "ran"</script>',
        ),
    )
    page.goto("/csp-probe")
    page.wait_for_timeout(200)

    assert page.title() != "ran"
    assert any("script-src" in violation for violation in csp_violations), csp_violations
    assert any("style-src" in violation for violation in csp_violations), csp_violations
    csp_violations.clear()


def test_dashboard_pages_and_api_docs_run_under_the_policy(new_page, rw_user, programmer, channels):
    application = make_application(programmer, name="Policed", platforms=["ios"])
    page = new_page()
    for path in ("/accounts/login/", "/accounts/password_reset/", "/api/docs/"):
        visit(page, path)
    sign_in(page, "rw")
    for path in (
        "/",
        f"/programmers/{programmer.slug}/",
        f"/programmers/{programmer.slug}/applications/new/",
        f"/programmers/{programmer.slug}/channels/",
        f"/programmers/{programmer.slug}/custom-schemes/",
        f"/programmers/{programmer.slug}/changes/",
        f"/programmers/{programmer.slug}/usage/",
        f"/applications/{application.pk}/",
        f"/applications/{application.pk}/revocation-request/",
        "/accounts/password_change/",
    ):
        visit(page, path)


@pytest.mark.parametrize("model_admin", ["changelists", "forms"])
def test_admin_pages_run_under_the_policy(new_page, tam, programmer, channels, model_admin):
    application = make_application(programmer, name="Policed", platforms=["ios"])
    page = new_page()
    admin_sign_in(page, "tam", current_code(authenticator(tam)))
    expect(page.locator("#site-name")).to_be_visible()
    models = [model._meta for model in admin.site._registry]
    if model_admin == "changelists":
        visit(page, "/admin/")
        for opts in models:
            visit(page, reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        # A search, a filter and the date drill-down.
        visit(page, reverse("admin:registered_apps_registeredapplication_changelist") + "?q=Policed")
        visit(page, reverse("admin:registered_apps_auditevent_changelist") + "?created_at__year=2026")
        return
    for opts in models:
        model_admin_object = admin.site._registry[opts.model]
        request = type("R", (), {"user": tam})()
        if model_admin_object.has_add_permission(request):
            visit(page, reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
    visit(page, reverse("admin:registered_apps_registeredapplication_change", args=[application.pk]))
    visit(page, reverse("admin:registered_apps_programmer_change", args=[programmer.pk]))
    visit(page, reverse("admin:auth_user_change", args=[tam.pk]))
    visit(page, reverse("admin:auth_user_password_change", args=[tam.pk]))
    doomed = User.objects.create_user("doomed")
    visit(page, reverse("admin:auth_user_delete", args=[doomed.pk]))
    # An action's confirmation page (revoke with a reason).
    visit(page, reverse("admin:registered_apps_registeredapplication_changelist"))
    page.locator(f'input[name="_selected_action"][value="{application.pk}"]').check()
    page.locator('select[name="action"]').select_option("revoke_applications")
    page.locator("button[name=index]").first.click()
    expect(page.locator("body")).to_contain_text("Policed")
