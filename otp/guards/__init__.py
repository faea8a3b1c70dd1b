"""Per-request state that refuses floods and repeats, each guard owning one table: lockout of an
address, backoff of an account's verifications, replay of a code, reuse of a nonce."""
