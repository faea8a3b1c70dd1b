"""How the two authentication schemes appear in the OpenAPI document."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "otp.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "The service's API key.",
        }


class HmacSignatureScheme(OpenApiAuthenticationExtension):
    target_class = "otp.authentication.HmacSignatureAuthentication"
    # The three headers go together: OpenAPI models that as three schemes all required (AND).
    name = ["SignedApiKey", "SignedTimestamp", "Signature"]

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-API-Key",
                "description": "The service's API key.",
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-Timestamp",
                "description": "Unix seconds; must be within 30 s of server time, either way.",
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-Signature",
                "description": "Lowercase hex HMAC-SHA256, key = API key, message = X-Timestamp.",
            },
        ]


class SignedRequestScheme(OpenApiAuthenticationExtension):
    target_class = "otp.authentication.SignedRequestAuthentication"
    name = ["KeyId", "V2Timestamp", "Nonce", "V2Signature"]

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-Key-Id",
                "description": "First 16 hex of SHA-256 of the API key (`manage.py otp keyid`).",
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-Timestamp",
                "description": "Unix seconds; must be within 30 s of server time, either way.",
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-Nonce",
                "description": "16 to 64 characters of A-Z a-z 0-9 _ -; each is accepted once.",
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-Signature",
                "description": (
                    "Lowercase hex HMAC-SHA256 keyed with the API key over the lines "
                    "OTP-HMAC-SHA256, timestamp, nonce, METHOD, path?query, hex SHA-256 of the "
                    "body, joined by newlines."
                ),
            },
        ]
