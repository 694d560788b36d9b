"""API views: documented APIView classes over the plain endpoints, the session API, discovery and docs.

The /o/client/* classes are DRF views made cheap (no authentication classes, parsers or content
negotiation); their `post` hands the Django request to `oauth.endpoints`, which answer with plain JSON
responses (DRF's renderers would cost more than signing a token).
"""

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from core.conf import dcr
from core.local_caches import local_cache
from registered_apps.environments import EnvironmentInfo, request_environment
from registered_apps.models import RegisteredApplication
from registered_apps.selectors import active_scopes
from software_statements.keys import SUPPORTED_ALGORITHMS

from . import endpoints
from .authentication import AccessTokenAuthentication, TokenClient
from .errors import error_response, invalid_request, json_response
from .permissions import scopes_required
from .serializers import (
    ClientInformationSerializer,
    ClientUpdateRequestSerializer,
    EmptySerializer,
    EnhancedErrorSerializer,
    ErrorSerializer,
    IntrospectionResponseSerializer,
    MetadataSerializer,
    RegistrationRequestSerializer,
    RegistrationResponseSerializer,
    SessionSerializer,
    TokenOperationRequestSerializer,
    TokenRequestSerializer,
    TokenResponseSerializer,
)

_ERROR = OpenApiResponse(ErrorSerializer, description="`invalid_request` and the other errors listed above.")
_THROTTLED = OpenApiResponse(ErrorSerializer, description="`too_many_requests`; see the Retry-After header.")
_CLIENT_AUTH = OpenApiResponse(
    ErrorSerializer, description="`invalid_client` when the client authenticated with HTTP Basic."
)
_BEARER = OpenApiResponse(
    EnhancedErrorSerializer,
    description=(
        "`invalid_access_token_client_application` (no token, a revoked token, or its client, statement or "
        "application revoked), `access_token_expired`, `invalid_access_token_signature`; WWW-Authenticate: Bearer "
        'error="invalid_token". Action `application-registration`.'
    ),
)
_DEVICE_HEADERS = [
    OpenApiParameter(
        "AP-Device-Identifier",
        str,
        OpenApiParameter.HEADER,
        required=False,
        description="`fingerprint <base64 of the device's stable identifier>` (REST API v2).",
    ),
    OpenApiParameter(
        "X-Device-Info",
        str,
        OpenApiParameter.HEADER,
        required=False,
        description="Base64 of a JSON object describing the device (REST API v2); else the User-Agent is read.",
    ),
]


class JSONOnlyNegotiation(BaseContentNegotiation):
    """The API speaks JSON only: skip parsing Accept (half of DRF's per-request cost on a bearer call)."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers), None)

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class _ClientEndpoint(APIView):
    """A DRF view whose handler hands the Django request to a plain endpoint of `oauth.endpoints`.

    Kept cheap: no authentication or permission classes (the endpoints authenticate clients
    themselves), no parsers (the endpoints read the body strictly), and no content negotiation."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    parser_classes: list[Any] = []
    content_negotiation_class = JSONOnlyNegotiation
    http_method_names = ["post"]
    # The plain endpoint a POST goes to without DRF's dispatch (see `as_view`); None: DRF's dispatch.
    direct_post: Callable[[HttpRequest], HttpResponse] | None = None

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Callable[..., HttpResponse]:  # type: ignore[override]
        """DRF's view, with a POST handed straight to `direct_post`.

        DRF's dispatch (its Request, authentication, permissions, throttles and negotiation, all empty or
        trivial here) cost about 45 us of a token request's 0.8 ms of CPU. What it adds to an endpoint's
        answer is the `Allow` header (`default_response_headers`), added here the same way; an exception
        out of the endpoint goes through DRF's `handle_exception` and `finalize_response` as before, so
        every answer is the same. `cls` and `initkwargs` stay on the view: drf-spectacular reads them for
        the OpenAPI document."""
        view = super().as_view(**initkwargs)
        endpoint = cls.direct_post
        if endpoint is None:
            return view
        headers = cls(**initkwargs).default_response_headers
        vary = headers.pop("Vary", None)

        def direct(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method != "POST" or args or kwargs:
                return view(request, *args, **kwargs)
            try:
                response = endpoint(request)
            except Exception as exc:  # answered by DRF as its dispatch would
                return cls._drf_answer(initkwargs, request, exc)
            for name, value in headers.items():
                response[name] = value
            if vary is not None:
                patch_vary_headers(response, [vary])
            return response

        direct.cls = view.cls  # type: ignore[attr-defined]
        direct.initkwargs = view.initkwargs  # type: ignore[attr-defined]
        return csrf_exempt(direct)

    @classmethod
    def _drf_answer(cls, initkwargs: dict[str, Any], request: HttpRequest, exc: Exception) -> HttpResponse:
        """What `APIView.dispatch` answers when its handler raised `exc` (or raises it again)."""
        self = cls(**initkwargs)
        self.args, self.kwargs = (), {}
        drf_request = self.initialize_request(request)
        self.request = drf_request
        self.headers = self.default_response_headers
        try:
            self.initial(drf_request)
            raise exc
        except Exception as caught:  # as DRF.s dispatch catches everything
            response = self.handle_exception(caught)
        return self.finalize_response(drf_request, response)


class RegisterView(_ClientEndpoint):
    direct_post = staticmethod(endpoints.register)

    @extend_schema(
        operation_id="client_register",
        summary="Retrieve client credentials (RFC 7591)",
        description=(
            "Exchange a software statement for a client_id and client_secret. Errors (400): `invalid_request`, "
            "`invalid_software_statement`, `unapproved_software_statement`, `invalid_redirect_uri`. "
            "Bodies over 64 KiB, repeated keys and non-object JSON are `invalid_request`."
        ),
        request={"application/json": RegistrationRequestSerializer},
        parameters=[
            OpenApiParameter(
                "X-Device-Info",
                str,
                OpenApiParameter.HEADER,
                required=False,
                description="Base64 of a JSON object describing the device.",
            )
        ],
        responses={201: RegistrationResponseSerializer, 400: _ERROR, 429: _THROTTLED},
        auth=[],
        tags=["client"],
    )
    def post(self, request: Request) -> HttpResponse:
        return endpoints.register(request._request)


class TokenView(_ClientEndpoint):
    direct_post = staticmethod(endpoints.token)

    @extend_schema(
        operation_id="client_token",
        summary="Retrieve an access token (client_credentials)",
        description=(
            "Client authentication with HTTP Basic or client_id and client_secret in the body (not both, never "
            "in the query string). Errors (400): `invalid_request`, `invalid_client` (401 with Basic), "
            "`unauthorized_client`, `unsupported_grant_type`, `invalid_scope`. Success is 200 (RFC 6749 5.1), "
            "or 201 where the deployment sets DCR_TOKEN_SUCCESS_STATUS=201 for clients of the original service."
        ),
        request={"application/x-www-form-urlencoded": TokenRequestSerializer},
        responses={200: TokenResponseSerializer, 400: _ERROR, 401: _CLIENT_AUTH, 429: _THROTTLED},
        auth=[],
        tags=["client"],
        examples=[OpenApiExample("body credentials", value={"grant_type": "client_credentials"}, request_only=True)],
    )
    def post(self, request: Request) -> HttpResponse:
        return endpoints.token(request._request)


class IntrospectView(_ClientEndpoint):
    direct_post = staticmethod(endpoints.introspect)

    @extend_schema(
        operation_id="client_introspect",
        summary="Introspect an access token (RFC 7662)",
        description="Tokens of another programmer, and invalid, expired or revoked tokens, read as inactive.",
        request={"application/x-www-form-urlencoded": TokenOperationRequestSerializer},
        responses={200: IntrospectionResponseSerializer, 400: _ERROR, 401: _CLIENT_AUTH},
        auth=[],
        tags=["client"],
    )
    def post(self, request: Request) -> HttpResponse:
        return endpoints.introspect(request._request)


class RevokeView(_ClientEndpoint):
    direct_post = staticmethod(endpoints.revoke)

    @extend_schema(
        operation_id="client_revoke",
        summary="Revoke an access token (RFC 7009)",
        description="A client revokes one of its own access tokens; 200 whether or not the token was known.",
        request={"application/x-www-form-urlencoded": TokenOperationRequestSerializer},
        responses={200: EmptySerializer, 400: _ERROR, 401: _CLIENT_AUTH},
        auth=[],
        tags=["client"],
    )
    def post(self, request: Request) -> HttpResponse:
        return endpoints.revoke(request._request)


_REGISTRATION_TOKEN = OpenApiResponse(
    ErrorSerializer,
    description=(
        "`invalid_token` (WWW-Authenticate: Bearer): no, a wrong or a rotated registration access token, a deleted "
        "or revoked client (or its statement or application revoked), or a client of another environment."
    ),
)
_CLIENT_ID = OpenApiParameter("client_id", str, OpenApiParameter.PATH, description="The client's client_id.")


class ClientConfigurationView(_ClientEndpoint):
    """RFC 7592: the client configuration endpoint (`registration_client_uri`), authenticated with the
    registration access token as a bearer token."""

    http_method_names = ["get", "put", "delete"]

    @extend_schema(
        operation_id="client_configuration_read",
        summary="Read the client's registration (RFC 7592 2.1)",
        description="The client information response; no client_secret (it is stored hashed).",
        parameters=[_CLIENT_ID],
        responses={200: ClientInformationSerializer, 401: _REGISTRATION_TOKEN, 429: _THROTTLED},
        tags=["client"],
    )
    def get(self, request: Request, client_id: str) -> HttpResponse:
        return endpoints.client_configuration(request._request, client_id)

    @extend_schema(
        operation_id="client_configuration_update",
        summary="Rotate the client's secret and registration access token (RFC 7592 2.2)",
        description=(
            "Send the client's metadata unchanged (the software statement fixes it: a change is "
            "`invalid_client_metadata`). The answer has a new client_secret and registration_access_token; the "
            "old secret keeps working for DCR_ROTATED_SECRET_GRACE seconds, the old registration access token "
            "stops at once. Errors (400): `invalid_request`, `invalid_client_metadata`, `invalid_software_statement`."
        ),
        parameters=[_CLIENT_ID],
        request={"application/json": ClientUpdateRequestSerializer},
        responses={200: ClientInformationSerializer, 400: _ERROR, 401: _REGISTRATION_TOKEN, 429: _THROTTLED},
        tags=["client"],
    )
    def put(self, request: Request, client_id: str) -> HttpResponse:
        return endpoints.client_configuration(request._request, client_id)

    @extend_schema(
        operation_id="client_configuration_delete",
        summary="Delete the client (RFC 7592 2.3)",
        description="The client's token requests and access tokens are refused within a second; usage stays counted.",
        parameters=[_CLIENT_ID],
        responses={204: None, 401: _REGISTRATION_TOKEN, 429: _THROTTLED},
        tags=["client"],
    )
    def delete(self, request: Request, client_id: str) -> HttpResponse:
        return endpoints.client_configuration(request._request, client_id)


class SessionView(APIView):
    """Who the access token speaks for."""

    content_negotiation_class = JSONOnlyNegotiation
    authentication_classes = [AccessTokenAuthentication]
    permission_classes = [scopes_required("api:client:v2")]
    # What the OpenAPI document lists; no OPTIONS metadata page.
    http_method_names = ["get", "head"]

    @extend_schema(
        operation_id="session",
        summary="The client, application and programmer an access token speaks for",
        parameters=_DEVICE_HEADERS,
        responses={
            200: SessionSerializer,
            400: OpenApiResponse(
                EnhancedErrorSerializer,
                description="`invalid_header_device_identifier`, `invalid_header_device_info` (action `none`).",
            ),
            401: _BEARER,
            403: OpenApiResponse(EnhancedErrorSerializer, description="`insufficient_scope` (action `configuration`)."),
        },
        tags=["api"],
    )
    def get(self, request: Request) -> HttpResponse:
        user: TokenClient = request.user  # type: ignore[assignment]
        claims: dict[str, Any] = request.auth  # type: ignore[assignment]
        name, version = application_name_version(user.software_id)
        body = {
            "client_id": user.client_id,
            "software_id": user.software_id,
            "application_name": name,
            "application_version": version,
            "programmer": user.programmer,
            "channels": list(claims.get("channels") or []),
            "scopes": claims["scope"].split(),
            "expires_at": int(claims["exp"]),
        }
        # A plain JSON response: DRF's renderer machinery is the larger part of a bearer call's cost.
        return json_response(body, headers={"Cache-Control": "no-store"})


_application_names = local_cache("application-names")
_metadata = local_cache("authorization-server-metadata", maxsize=16, ttl=60.0)


def application_name_version(application_id: str) -> tuple[str, str]:
    """(name, version) of an application: fixed after creation, so cached without expiry."""
    found: tuple[str, str] | None = _application_names.get(application_id)
    if found is None:
        try:
            pk = uuid.UUID(application_id)
        except ValueError:
            return ("", "")
        row = RegisteredApplication.objects.filter(pk=pk).values_list("name", "version").first()
        if row is None:
            return ("", "")
        found = (row[0], row[1])
        _application_names.put(application_id, found)
    return found


def authorization_server_metadata(environment: EnvironmentInfo) -> dict[str, Any]:
    """RFC 8414 2: the metadata of the environment's server (scopes from the catalog, cached for a minute)."""
    issuer = environment.issuer
    cached: dict[str, Any] | None = _metadata.get(issuer)
    if cached is not None:
        return cached
    auth_methods = ["client_secret_post", "client_secret_basic"]
    metadata = {
        "issuer": issuer,
        "registration_endpoint": f"{issuer}/o/client/register",
        "token_endpoint": f"{issuer}/o/client/token",
        "revocation_endpoint": f"{issuer}/o/client/revoke",
        "introspection_endpoint": f"{issuer}/o/client/introspect",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "grant_types_supported": ["client_credentials"],
        # RFC 8414 2 makes this member REQUIRED, with no exception for a server without an authorization
        # endpoint (authorization_endpoint has one, so it is left out), and strict validators read an empty
        # array as missing. "none" (OAuth 2.0 Multiple Response Type Encoding Practices 4, in IANA's
        # response types registry) is the one response type that issues no credential, which is all this
        # server issues from an authorization endpoint; clients are registered with response_types ["none"]
        # to match (RFC 7591 2.1: omitted would mean "code"). README "Standard clients".
        "response_types_supported": ["none"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "scopes_supported": list(active_scopes().order_by("code").values_list("code", flat=True)),
        "access_token_signing_alg_values_supported": [dcr.access_token_algorithm],
        "software_statement_signing_alg_values_supported": list(SUPPORTED_ALGORITHMS),
        "service_documentation": f"{issuer}/api/docs/",
    }
    _metadata.put(issuer, metadata)
    return metadata


class MetadataView(_ClientEndpoint):
    http_method_names = ["get", "head"]

    @extend_schema(
        operation_id="authorization_server_metadata",
        summary="Authorization server metadata (RFC 8414)",
        responses={200: MetadataSerializer},
        auth=[],
        tags=["discovery"],
    )
    def get(self, request: Request) -> HttpResponse:
        metadata = authorization_server_metadata(request_environment(request))
        return json_response(metadata, headers={"Cache-Control": "public, max-age=300"})


def method_not_allowed(allowed: str) -> HttpResponse:
    response = error_response(invalid_request(f"Use {allowed} on this endpoint."))
    response.status_code = 405
    response["Allow"] = allowed
    return response


def openapi_document() -> dict[str, Any]:
    generator = SchemaGenerator(patterns=None)
    return generator.get_schema(request=None, public=True)


def api_docs(request: HttpRequest) -> HttpResponse:
    """A readable page of the OpenAPI document, rendered on the server (no script, no CDN)."""
    if request.method not in ("GET", "HEAD"):
        return method_not_allowed("GET, HEAD")
    schema = openapi_document()
    operations = []
    for path, methods in schema.get("paths", {}).items():
        for method, operation in methods.items():
            operations.append({"path": path, "method": method.upper(), "operation": operation})
    return render(
        request,
        "oauth/api_docs.html",
        {"schema": schema, "operations": operations, "info": schema.get("info", {})},
    )
