"""Django's sign-in and sign-out views with `next` read through `core.next_path`: a path of this site or
the page's fallback. Django's own check lets through text such as `-1` or `é`, which the browser then
reads relative to the sign-in page (a 404, or a 500 where a view looked it up as a URL name)."""

from django.contrib.auth.views import LoginView, LogoutView, RedirectURLMixin

from core.next_path import next_path


class LocalNextMixin(RedirectURLMixin):
    def get_redirect_url(self) -> str:
        """The `next` when it is a path of this site, else "" (the view's fallback follows)."""
        return next_path(self.request, "")  # type: ignore[attr-defined]  # the view's request


class SignInView(LocalNextMixin, LoginView):
    pass


class SignOutView(LocalNextMixin, LogoutView):
    pass
