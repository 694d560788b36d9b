"""Request and response shapes of the API, for the OpenAPI document (and the session response)."""

from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="An RFC 6749 / RFC 7591 error code.")
    error_description = serializers.CharField(help_text="One human sentence.")


class EnhancedErrorSerializer(serializers.Serializer):
    """The protected API's errors: the original's REST API v2 enhanced error codes (oauth.api_errors)."""

    status = serializers.IntegerField(help_text="The HTTP status, repeated.")
    code = serializers.CharField(help_text="The original's error code, e.g. `invalid_access_token_client_application`.")
    message = serializers.CharField(help_text="One human sentence.")
    details = serializers.CharField(required=False, help_text="A more specific sentence, when there is one.")
    action = serializers.ChoiceField(
        choices=["none", "configuration", "application-registration", "retry"],
        help_text=(
            "`application-registration`: get a new access token (and register again if the token endpoint "
            "says invalid_client); `configuration`: the application needs a change in the dashboard; `none`: "
            "fix the request."
        ),
    )
    helpUrl = serializers.CharField(help_text="Where the API is documented.")  # the original's camelCase
    trace = serializers.CharField(help_text="The request id (X-Request-ID): quote it to support.")


class RegistrationRequestSerializer(serializers.Serializer):
    software_statement = serializers.CharField(help_text="The compact JWS downloaded from the dashboard.")
    redirect_uri = serializers.CharField(required=False, help_text="One of the application's redirect URIs.")


class RegistrationResponseSerializer(serializers.Serializer):
    client_id = serializers.CharField()
    client_secret = serializers.CharField(help_text="Shown this once; store it safely.")
    client_id_issued_at = serializers.IntegerField(help_text="Seconds since the epoch.")
    client_secret_expires_at = serializers.IntegerField(help_text="0: the secret does not expire.")
    redirect_uris = serializers.ListField(child=serializers.CharField())
    grant_types = serializers.ListField(child=serializers.CharField())
    response_types = serializers.ListField(
        child=serializers.CharField(),
        help_text='["none"]: no credential from an authorization endpoint (RFC 7591 2.1).',
    )
    token_endpoint_auth_method = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField(), help_text="The scopes as a list (the original's).")
    scope = serializers.CharField(help_text="The same scopes, space separated (RFC 7591 2).")
    software_id = serializers.CharField()
    software_version = serializers.CharField()
    client_name = serializers.CharField()
    software_statement = serializers.CharField(help_text="The statement of the request, unmodified (RFC 7591 3.2.1).")
    registration_access_token = serializers.CharField(
        help_text="RFC 7592: the bearer token of registration_client_uri. Shown this once; store it with the secret."
    )
    registration_client_uri = serializers.URLField(help_text="RFC 7592: read, rotate or delete this client there.")


class ClientInformationSerializer(serializers.Serializer):
    """RFC 7592 3: the client information response of a read or an update."""

    client_id = serializers.CharField()
    client_secret = serializers.CharField(
        required=False, help_text="Only in an update's response: the new secret, shown this once."
    )
    client_id_issued_at = serializers.IntegerField(help_text="Seconds since the epoch.")
    client_secret_expires_at = serializers.IntegerField(help_text="0: the secret does not expire.")
    redirect_uris = serializers.ListField(child=serializers.CharField())
    grant_types = serializers.ListField(child=serializers.CharField())
    response_types = serializers.ListField(child=serializers.CharField())
    token_endpoint_auth_method = serializers.CharField()
    scope = serializers.CharField(help_text="Space separated.")
    scopes = serializers.ListField(child=serializers.CharField())
    software_id = serializers.CharField()
    software_version = serializers.CharField()
    client_name = serializers.CharField()
    registration_access_token = serializers.CharField(
        help_text="A read returns the token presented; an update returns a new one (the old one is refused)."
    )
    registration_client_uri = serializers.URLField()


class ClientUpdateRequestSerializer(serializers.Serializer):
    """RFC 7592 2.2: the client's metadata, unchanged (the software statement fixes it)."""

    client_id = serializers.CharField()
    client_secret = serializers.CharField(required=False, help_text="If sent, the current secret.")
    redirect_uris = serializers.ListField(child=serializers.CharField(), required=False)
    grant_types = serializers.ListField(child=serializers.CharField(), required=False)
    response_types = serializers.ListField(child=serializers.CharField(), required=False)
    token_endpoint_auth_method = serializers.CharField(required=False)
    scope = serializers.CharField(required=False)
    software_id = serializers.CharField(required=False)
    software_version = serializers.CharField(required=False)
    client_name = serializers.CharField(required=False)


class TokenRequestSerializer(serializers.Serializer):
    grant_type = serializers.ChoiceField(choices=["client_credentials"])
    client_id = serializers.CharField(required=False, help_text="Or use HTTP Basic authentication.")
    client_secret = serializers.CharField(required=False, help_text="Or use HTTP Basic authentication.")
    scope = serializers.CharField(required=False, help_text="Space separated; a subset of the client's scopes.")


class TokenResponseSerializer(serializers.Serializer):
    access_token = serializers.CharField(help_text="A JWT (RFC 9068, typ at+jwt).")
    token_type = serializers.ChoiceField(choices=["bearer"])
    expires_in = serializers.IntegerField(help_text="Seconds.")
    created_at = serializers.IntegerField(help_text="Milliseconds since the epoch.")
    id = serializers.CharField(help_text="The token's jti.")
    scope = serializers.CharField()


class TokenOperationRequestSerializer(serializers.Serializer):
    token = serializers.CharField()
    token_type_hint = serializers.CharField(required=False)
    client_id = serializers.CharField(required=False, help_text="Or use HTTP Basic authentication.")
    client_secret = serializers.CharField(required=False, help_text="Or use HTTP Basic authentication.")


class IntrospectionResponseSerializer(serializers.Serializer):
    active = serializers.BooleanField()
    scope = serializers.CharField(required=False)
    client_id = serializers.CharField(required=False)
    token_type = serializers.CharField(required=False)
    exp = serializers.IntegerField(required=False)
    iat = serializers.IntegerField(required=False)
    nbf = serializers.IntegerField(required=False)
    sub = serializers.CharField(required=False)
    aud = serializers.CharField(required=False)
    iss = serializers.CharField(required=False)
    jti = serializers.CharField(required=False)
    software_id = serializers.CharField(required=False)
    programmer = serializers.CharField(required=False)
    channels = serializers.ListField(child=serializers.CharField(), required=False)


class EmptySerializer(serializers.Serializer):
    pass


class SessionSerializer(serializers.Serializer):
    client_id = serializers.CharField()
    software_id = serializers.CharField()
    application_name = serializers.CharField()
    application_version = serializers.CharField()
    programmer = serializers.CharField()
    channels = serializers.ListField(child=serializers.CharField())
    scopes = serializers.ListField(child=serializers.CharField())
    expires_at = serializers.IntegerField(help_text="Seconds since the epoch.")


class MetadataSerializer(serializers.Serializer):
    issuer = serializers.CharField()
    registration_endpoint = serializers.CharField()
    token_endpoint = serializers.CharField()
    revocation_endpoint = serializers.CharField()
    introspection_endpoint = serializers.CharField()
    jwks_uri = serializers.CharField()
    grant_types_supported = serializers.ListField(child=serializers.CharField())
    response_types_supported = serializers.ListField(child=serializers.CharField())
    token_endpoint_auth_methods_supported = serializers.ListField(child=serializers.CharField())
    revocation_endpoint_auth_methods_supported = serializers.ListField(child=serializers.CharField())
    introspection_endpoint_auth_methods_supported = serializers.ListField(child=serializers.CharField())
    scopes_supported = serializers.ListField(child=serializers.CharField())
    access_token_signing_alg_values_supported = serializers.ListField(child=serializers.CharField())
    software_statement_signing_alg_values_supported = serializers.ListField(child=serializers.CharField())
    service_documentation = serializers.CharField()
