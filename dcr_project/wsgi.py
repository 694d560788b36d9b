"""WSGI entry point: the hot paths' lane (dcr_project.fast_lane), the JSON API's other paths through a
shorter middleware chain (dcr_project.api_handler), the pages (dashboard, admin, sign-in, probes, static
files) through the whole one."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dcr_project.settings.production")

# get_wsgi_application() runs django.setup(): the handler module may only be imported after it.
pages_application = get_wsgi_application()

from dcr_project.api_handler import ApiWSGIHandler, path_dispatcher  # noqa: E402
from dcr_project.fast_lane import fast_lane  # noqa: E402

api_application = ApiWSGIHandler()
application = fast_lane(path_dispatcher(api_application, pages_application))
