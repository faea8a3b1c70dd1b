"""The service's answers as Python objects."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Code:
    """A code and its window: it stays valid `valid_for_seconds` from `timestamp` (unix
    seconds, the service's clock). The code is left out of repr() so it does not end up in
    logs by accident."""

    otp: str = field(repr=False)
    valid_for_seconds: int
    timestamp: int

    @property
    def expires_at(self) -> int:
        """Unix seconds (the service's clock) when the code's window ends."""
        return self.timestamp + self.valid_for_seconds


@dataclass(frozen=True)
class Account:
    """An account the key may use (never its secret)."""

    name: str
    issuer: str = ""
    algorithm: str = "SHA1"
    digits: int = 6
    period: int = 30
    exclusive: bool = False
