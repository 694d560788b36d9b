"""The usage tab: registrations and tokens per UTC day over the window, and the top applications."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .areas import Area, for_channel, for_programmer
from .usage_days import usage_in_window, usage_per_application, usage_series

TOP_APPLICATIONS = 20


def usage(request: HttpRequest, area: Area) -> HttpResponse:
    in_window = usage_in_window(area.applications())
    top = usage_per_application(in_window).order_by("-tokens", "-registrations")[:TOP_APPLICATIONS]
    return render(
        request,
        "registered_apps/area_usage.html",
        {"area": area, "tabs": area.tabs("usage"), "series": usage_series(in_window), "top": list(top)},
    )


programmer_usage = for_programmer(usage)
channel_usage = for_channel(usage)
