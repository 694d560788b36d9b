"""What the browser tests do on a page: sign in as a user with the tests' password."""

PASSWORD = "password-for-tests"


def sign_in(page, username: str, password: str = PASSWORD, path: str = "/") -> None:
    page.goto(path)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def admin_sign_in(page, username: str, code: str, password: str = PASSWORD, path: str = "/admin/login/") -> None:
    """The admin's sign-in: password and the second factor (a code from the authenticator app, or a recovery code)."""
    page.goto(path)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_label("Authentication code").fill(code)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def push_pending(page, description: str) -> None:
    """From the banner: review the pending changes, describe the configuration and push it."""
    page.get_by_role("link", name="Review", exact=True).click()
    page.get_by_label("Configuration description").fill(description)
    page.get_by_role("button", name="Push changes").click()
    page.wait_for_load_state()


def create_application(page, *, name: str, channels: list[str] | None, platforms: list[str], scopes: list[str]):
    page.get_by_label("Application name").fill(name)
    if channels is not None:
        page.get_by_label("Only the channels I choose").check()
        for channel in channels:
            page.get_by_role("group", name="Chosen channels").get_by_label(channel).check()
    for platform in platforms:
        page.get_by_role("group", name="Platforms").get_by_label(platform, exact=True).check()
    for scope in scopes:
        page.get_by_role("group", name="Scopes").get_by_label(scope).check()
    page.get_by_role("button", name="Create application").click()
