"""The protected API's error shape: the original's REST API v2 "enhanced error codes".

    {"status": 401, "code": "invalid_access_token_client_application", "message": "<sentence>",
     "action": "application-registration", "details": "<sentence>" (optional), "helpUrl": "<url>",
     "trace": "<the request id>"}

`status` repeats the HTTP status, `code` is one of the original's documented codes, `action` what the
client does next (`none`, `configuration`, `application-registration`, `retry`), `trace` the request id
the request log writes and the X-Request-ID header returns. Only the bearer-protected API (`/api/v2/*`:
`oauth.authentication`, `oauth.permissions`) answers this way; the /o/client/* endpoints keep the RFC 6749
/ RFC 7591 body (`oauth.errors`). A 401 keeps RFC 6750's `WWW-Authenticate: Bearer error="invalid_token"`
so that OAuth libraries still understand it. Messages are fixed sentences: never a token or a header value.
README "Protected API" lists every code with the page of the original's documentation it comes from.
"""

from typing import Any

from core.request_log import current_request_id

# The original's "Enhanced Error Codes" page, section "Action".
NONE = "none"
CONFIGURATION = "configuration"
APPLICATION_REGISTRATION = "application-registration"

# The codes, with the original's page each comes from (README "Protected API").
# "Enhanced Error Codes", REST API v2 list: the access token is invalid because of its client application.
INVALID_ACCESS_TOKEN_CLIENT_APPLICATION = "invalid_access_token_client_application"
# "Enhanced Error Codes", the general list (application-registration group).
ACCESS_TOKEN_EXPIRED = "access_token_expired"
INVALID_ACCESS_TOKEN_SIGNATURE = "invalid_access_token_signature"
# "Enhanced Error Codes", REST API v2 list (action none).
INVALID_HEADER_DEVICE_IDENTIFIER = "invalid_header_device_identifier"
INVALID_HEADER_DEVICE_INFO = "invalid_header_device_info"
# RFC 6750 3.1 (the original documents no scope code).
INSUFFICIENT_SCOPE = "insufficient_scope"
# "Enhanced Error Codes", the general list (the request itself), and the REST API v2 list (the server).
INVALID_HTTP_METHOD = "invalid_http_method"
BAD_REQUEST = "bad_request"
INTERNAL_SERVER_ERROR = "internal_server_error"

BEARER_INVALID_TOKEN = 'Bearer error="invalid_token"'


class ApiError(Exception):
    """A refusal of the protected API, answered in the enhanced-error-codes shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        action: str,
        details: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.action = action
        self.details = details
        self.headers = headers or {}

    def body(self, *, help_url: str) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status, "code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        body.update(action=self.action, helpUrl=help_url, trace=current_request_id() or "")
        return body


def token_refused(code: str, message: str, *, details: str | None = None) -> ApiError:
    """401: the access token cannot be used. Every such code is in the original's application-registration
    group: the client goes through its registration phase again, which for a client whose credentials
    still work is one token request (the token endpoint says `invalid_client` when they do not)."""
    return ApiError(
        401,
        code,
        message,
        action=APPLICATION_REGISTRATION,
        details=details,
        headers={"WWW-Authenticate": BEARER_INVALID_TOKEN},
    )


def scope_missing(required: str) -> ApiError:
    """403 (RFC 6750 3.1, with the scope it needs in WWW-Authenticate): the application was not made with
    the scope, which a new registered application in the dashboard fixes (`configuration`)."""
    return ApiError(
        403,
        INSUFFICIENT_SCOPE,
        f"This resource needs the scope {required}; the application was not created with it.",
        action=CONFIGURATION,
        headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{required}"'},
    )


def header_invalid(code: str, message: str) -> ApiError:
    """400: a device header is malformed (REST API v2 list, action `none`: the request must be fixed)."""
    return ApiError(400, code, message, action=NONE)
