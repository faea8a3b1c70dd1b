"""How the authentication schemes appear in the OpenAPI document."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

API_KEY = "The service's API key."
TIMESTAMP = "Unix seconds; must be within 30 s of server time, either way."


def header(name: str, description: str) -> dict:
    """An OpenAPI security scheme for one request header."""
    return {"type": "apiKey", "in": "header", "name": name, "description": description}


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "otp.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return header("X-API-Key", API_KEY)


class HmacSignatureScheme(OpenApiAuthenticationExtension):
    target_class = "otp.authentication.HmacSignatureAuthentication"
    # Headers that go together are modelled as several schemes all required (AND).
    name = ["SignedApiKey", "SignedTimestamp", "Signature"]

    def get_security_definition(self, auto_schema):
        return [
            header("X-API-Key", API_KEY),
            header("X-Timestamp", TIMESTAMP),
            header(
                "X-Signature", "Lowercase hex HMAC-SHA256, key = API key, message = X-Timestamp."
            ),
        ]


class SignedRequestScheme(OpenApiAuthenticationExtension):
    target_class = "otp.authentication.SignedRequestAuthentication"
    name = ["KeyId", "V2Timestamp", "Nonce", "V2Signature"]

    def get_security_definition(self, auto_schema):
        return [
            header("X-Key-Id", "First 16 hex of SHA-256 of the API key (`manage.py otp keyid`)."),
            header("X-Timestamp", TIMESTAMP),
            header("X-Nonce", "16 to 64 characters of A-Z a-z 0-9 _ -; each is accepted once."),
            header(
                "X-Signature",
                "Lowercase hex HMAC-SHA256 keyed with the API key over the lines "
                "OTP-HMAC-SHA256, timestamp, nonce, METHOD, path?query, hex SHA-256 of the "
                "body, joined by newlines.",
            ),
        ]
