"""What the browser tests do on a page: sign in as a user with the tests' password."""

PASSWORD = "password-for-tests"


def sign_in(page, username: str, password: str = PASSWORD, path: str = "/") -> None:
    page.goto(path)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
