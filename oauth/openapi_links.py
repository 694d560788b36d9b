"""OpenAPI links (3.0 "Link Object") for the client flow: register -> token -> session, introspect,
revoke. drf-spectacular 0.30's `OpenApiResponse` takes no links, so a postprocessing hook adds them;
clients and Schemathesis' stateful phase read them to chain the calls with real credentials. The same
hook gives the token endpoint's success the status this deployment serves (DCR_TOKEN_SUCCESS_STATUS)."""

from typing import Any

from core.conf import dcr

_CREDENTIALS_OF_THE_TOKEN_REQUEST = {
    "client_id": "$request.body#/client_id",
    "client_secret": "$request.body#/client_secret",
}

# (operation id, status) -> {link name: link}
LINKS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("client_register", "201"): {
        "token": {
            "operationId": "client_token",
            "description": "Get an access token with the credentials just issued.",
            "requestBody": {
                "grant_type": "client_credentials",
                "client_id": "$response.body#/client_id",
                "client_secret": "$response.body#/client_secret",
            },
        },
    },
    ("client_token", "200"): {
        "session": {
            "operationId": "session",
            "description": "Call the API with the access token.",
            "parameters": {"header.Authorization": "Bearer {$response.body#/access_token}"},
        },
        "introspect": {
            "operationId": "client_introspect",
            "description": "Introspect the access token as the client it was issued to.",
            "requestBody": {**_CREDENTIALS_OF_THE_TOKEN_REQUEST, "token": "$response.body#/access_token"},
        },
        "revoke": {
            "operationId": "client_revoke",
            "description": "Revoke the access token as the client it was issued to.",
            "requestBody": {**_CREDENTIALS_OF_THE_TOKEN_REQUEST, "token": "$response.body#/access_token"},
        },
    },
    ("client_introspect", "200"): {
        "revoke": {
            "operationId": "client_revoke",
            "description": "Revoke the token just introspected.",
            "requestBody": {**_CREDENTIALS_OF_THE_TOKEN_REQUEST, "token": "$request.body#/token"},
        },
    },
}


def links_add(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """SPECTACULAR_SETTINGS POSTPROCESSING_HOOKS: put LINKS on the responses they start from."""
    for methods in result.get("paths", {}).values():
        for operation in methods.values():
            _token_success_status(operation)
            for status, response in operation.get("responses", {}).items():
                links = LINKS.get((operation.get("operationId", ""), _documented(operation, status)))
                if links:
                    response["links"] = links
    return result


def _documented(operation: dict[str, Any], status: str) -> str:
    """LINKS names the token endpoint's success 200 whatever status the deployment serves."""
    if operation.get("operationId") == "client_token" and status == str(dcr.token_success_status):
        return "200"
    return status


def _token_success_status(operation: dict[str, Any]) -> None:
    """The token endpoint is documented with 200 (RFC 6749 5.1); a deployment serving 201 says 201."""
    status = str(dcr.token_success_status)
    responses = operation.get("responses", {})
    if operation.get("operationId") == "client_token" and status != "200" and "200" in responses:
        responses[status] = responses.pop("200")
