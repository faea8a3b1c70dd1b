"""Pure Python, no Django (import-linter enforces it, pyproject.toml): TOTP arithmetic, otpauth
URIs, account names, credentials and signatures, the clock, and who acts. Everything may use it."""
