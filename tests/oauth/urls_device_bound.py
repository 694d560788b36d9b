"""A URLconf for the tests: the project's URLs and one view whose answers depend on the device, as the
original's profiles and decisions do, so it requires AP-Device-Identifier (oauth.authentication)."""

import base64

from django.http import HttpResponse
from django.urls import include, path
from rest_framework.request import Request
from rest_framework.views import APIView

from oauth.authentication import AccessTokenAuthentication, TokenClient
from oauth.errors import json_response
from oauth.permissions import scopes_required

DEVICE_BOUND = "/api/v2/device-bound"


class DeviceBoundAuthentication(AccessTokenAuthentication):
    device_identifier_required = True


class DeviceBoundView(APIView):
    authentication_classes = [DeviceBoundAuthentication]
    permission_classes = [scopes_required("api:client:v2")]

    def get(self, request: Request) -> HttpResponse:
        user: TokenClient = request.user  # type: ignore[assignment]
        identifier = base64.b64encode(user.device_identifier or b"").decode()
        info = dict(user.device_info) if user.device_info is not None else None
        return json_response({"device_identifier": identifier, "device_info": info})


urlpatterns = [
    path(DEVICE_BOUND.lstrip("/"), DeviceBoundView.as_view()),
    path("", include("dcr_project.urls")),
]
