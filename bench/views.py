"""The floor: the cheapest JSON answer Django can give through the project's whole middleware stack."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET


@require_GET
def floor(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})
