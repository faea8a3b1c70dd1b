"""Request validation and the documented shape of every response body."""

from rest_framework import serializers

from otp.core import totp


class CodeField(serializers.CharField):
    """A JSON string taken exactly as sent.

    DRF's CharField would turn the number 482910 into "482910" and trim spaces; here only a string
    is accepted (else 400), and any string, however malformed, reaches verification and is simply
    not a valid code.
    """

    def __init__(self, **kwargs):
        super().__init__(allow_blank=True, trim_whitespace=False, **kwargs)
        # Drop the NUL-character validator too: junk is a wrong code (valid: false), not a 400.
        self.validators = []

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return data


class VerifyRequestSerializer(serializers.Serializer):
    otp = CodeField(
        help_text=(
            "The code to check: the account's number of ASCII digits. Any other string is "
            "simply not valid; the body as a whole is at most 1 KiB (else 413)."
        )
    )

    @classmethod
    def read(cls, body) -> str:
        """The code a verify body holds; 400 (ValidationError) for a body without one."""
        if isinstance(body, dict) and isinstance(body.get("otp"), str):
            # Nearly every request, and what the serializer would return for it (other keys
            # are ignored either way): without its machinery, which was 5 % of a worker's
            # samples under verify load (py-spy, SQLite, at 41ec043).
            return body["otp"]
        checked = cls(data=body)
        checked.is_valid(raise_exception=True)
        return checked.validated_data["otp"]


class FreshnessSerializer(serializers.Serializer):
    """The query of a code request: how long the code must stay valid, and whether to wait.

    Strict: whole seconds written as digits, 1 to the account's period minus 1 (the view passes
    the period), and wait exactly "true" or "false". Anything else is a 400 naming the parameter.
    """

    min_validity = serializers.RegexField(
        r"^[0-9]{1,4}$",
        required=False,
        error_messages={
            "invalid": "whole seconds, written as digits",
            "blank": "whole seconds, written as digits",
        },
    )
    # Fixed messages: DRF's would quote what the client sent.
    wait = serializers.ChoiceField(
        ["true", "false"],
        required=False,
        default="true",
        error_messages={"invalid_choice": "true or false", "blank": "true or false"},
    )

    @classmethod
    def read(cls, query, period: int) -> tuple[int | None, bool]:
        """(min_validity, wait) of a request's query; 400 (ValidationError) for a bad one.

        A parameter given twice is refused (which one would count?), and the rest read as a
        plain dict, since from a QueryDict DRF would skip an empty value instead of refusing it.
        """
        if not any(name in query for name in cls._declared_fields):
            # Nearly every request: the defaults, without the serializer's machinery, which was
            # a tenth of GET /otp's CPU (docs/PERFORMANCE.md, "Speed against the seed").
            return None, True
        twice = {name: ["given more than once"] for name in cls._declared_fields
                 if len(query.getlist(name)) > 1}  # fmt: skip
        if twice:
            raise serializers.ValidationError(twice)
        checked = cls(data=query.dict(), context={"period": period})
        checked.is_valid(raise_exception=True)
        return checked.validated_data["min_validity"], checked.validated_data["wait"]

    def validate_min_validity(self, value: str) -> int:
        seconds, period = int(value), self.context["period"]
        if not 1 <= seconds < period:
            raise serializers.ValidationError(
                f"whole seconds from 1 to {period - 1} (the account's period minus 1)"
            )
        return seconds

    def to_internal_value(self, data):
        checked = super().to_internal_value(data)
        return {"min_validity": checked.get("min_validity"), "wait": checked["wait"] == "true"}


# The views build these bodies as plain dicts (the hot path skips serializer overhead); these
# classes document them, and the tests check that both agree.
class HealthSerializer(serializers.Serializer):
    status = serializers.CharField()
    timestamp = serializers.IntegerField(help_text="Server time, unix seconds.")


class OtpSerializer(serializers.Serializer):
    otp = serializers.CharField(help_text="The current code: six (or the account's) digits.")
    valid_for_seconds = serializers.IntegerField(
        help_text="Seconds until the code's window ends (1 to the period, 30 for /otp)."
    )
    timestamp = serializers.IntegerField(help_text="Server time the code was computed for.")


class VerifyResultSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    timestamp = serializers.IntegerField(help_text="Server time of the check, unix seconds.")


class AccountSerializer(serializers.Serializer):
    name = serializers.CharField()
    issuer = serializers.CharField()
    algorithm = serializers.ChoiceField(totp.ALGORITHMS)
    digits = serializers.IntegerField()
    period = serializers.IntegerField(help_text="Seconds per code.")
    exclusive = serializers.BooleanField(
        help_text="Each time step's code is handed to one caller only (one bot per code)."
    )


class AccountListSerializer(serializers.Serializer):
    accounts = AccountSerializer(many=True)


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
