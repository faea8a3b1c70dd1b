"""What the service keeps: accounts, clients, one-time-use state, failure counts, the audit."""

from django.db import models

from otp.core.names import TEXT_LIMIT  # characters of an account's issuer or label


class AcceptedStep(models.Model):
    """The latest time step accepted for one secret and its parameters (RFC 6238 section 5.2).

    Only a later step is accepted after it, so each code works once. The secret is named by its
    fingerprint (otp.core.totp.fingerprint), never stored.

    Its plain SQL is in otp/guards/replay.py.
    """

    fingerprint = models.CharField(max_length=64, primary_key=True)
    last_step = models.BigIntegerField()

    class Meta:
        db_table = "otp_acceptedstep"

    def __str__(self):
        return f"{self.fingerprint[:12]}… at step {self.last_step}"


class UsedNonce(models.Model):
    """A v2 nonce already accepted for a key, kept until its timestamp could no longer pass.

    Used when the cache is Django's database cache, which drops live entries once it holds
    MAX_ENTRIES: a forgotten nonce could be replayed. With Redis the cache holds them instead.

    Its plain SQL is in otp/guards/nonces.py.
    """

    claim = models.CharField(max_length=96, primary_key=True)  # "<key id>:<nonce>"
    expires_at = models.BigIntegerField(db_index=True)

    class Meta:
        db_table = "otp_usednonce"

    def __str__(self):
        return f"{self.claim} until {self.expires_at}"


class AuthFailureWindow(models.Model):
    """Failed authentications from one client address since `window_start` (unix seconds).

    Its plain SQL is in otp/guards/lockout.py.
    """

    address = models.CharField(max_length=64, primary_key=True)
    window_start = models.BigIntegerField()
    failures = models.PositiveIntegerField()

    class Meta:
        db_table = "otp_authfailurewindow"

    def __str__(self):
        return f"{self.address}: {self.failures} since {self.window_start}"


class Account(models.Model):
    """A TOTP account the service holds codes for; its secret only ever sealed (otp.sealing).

    Its plain SQL is in otp/accounts.py.
    """

    name = models.CharField(max_length=64, primary_key=True)
    issuer = models.CharField(max_length=TEXT_LIMIT, blank=True)
    label = models.CharField(max_length=TEXT_LIMIT, blank=True)
    algorithm = models.CharField(max_length=6)
    digits = models.PositiveSmallIntegerField()
    period = models.PositiveSmallIntegerField()
    # AES-256-GCM under OTP_ENCRYPTION_KEYS, the account name as associated data.
    sealed_secret = models.BinaryField()
    created_at = models.DateTimeField()
    # Each time step's code handed out at most once (one bot per code); db_default: an instance
    # still running the previous release inserts without it during a deploy.
    exclusive = models.BooleanField(default=False, db_default=False)
    # The last time step whose code was handed out, for an exclusive account.
    last_step = models.BigIntegerField(null=True, blank=True)

    class Meta:
        db_table = "otp_account"
        ordering = ["name"]

    def __str__(self):
        return self.name


class Client(models.Model):
    """A caller with its own API keys, limited to some accounts and actions.

    Its plain SQL is in otp/client_keys.py.
    """

    name = models.CharField(max_length=64, unique=True)
    all_accounts = models.BooleanField(default=False)
    # Account names ("default" included) when not all_accounts.
    accounts = models.JSONField(default=list)
    may_issue = models.BooleanField(default=False)
    may_verify = models.BooleanField(default=False)
    may_read_metrics = models.BooleanField(default=False, db_default=False)  # GET /metrics
    requires_signature = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "otp_client"
        ordering = ["name"]

    def __str__(self):
        return self.name


class ClientKey(models.Model):
    """One API key of a client. Two are live while a rotation's grace period runs.

    Its plain SQL is in otp/client_keys.py.
    """

    # otp.core.credentials.key_id of the key: the first 16 hex digits of key_hash.
    key_id = models.CharField(max_length=16, primary_key=True)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="keys")
    key_hash = models.CharField(max_length=64)  # hex SHA-256: what X-API-Key is checked against
    # The key itself sealed under OTP_ENCRYPTION_KEYS: a v2 signature is an HMAC keyed with the
    # API key, which only someone holding the key can check, and the hash is not it.
    sealed_key = models.BinaryField()
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "otp_clientkey"

    def __str__(self):
        return f"{self.key_id} of {self.client_id}"


class VerifyFailures(models.Model):
    """Consecutive wrong codes sent for one account, and until when its verifications wait.

    Its plain SQL is in otp/guards/backoff.py.
    """

    account = models.CharField(max_length=64, primary_key=True)
    failures = models.PositiveIntegerField()
    blocked_until = models.BigIntegerField()  # unix seconds; 0: not blocked

    class Meta:
        db_table = "otp_verifyfailures"

    def __str__(self):
        return f"{self.account}: {self.failures} failures"


class AuditRecord(models.Model):
    """Who did what to which account, and how it ended: never a code, key or secret.

    Refused authentications alike (address, client, key id, account, outcome) share one record
    a minute (otp.audit.record_refusal): a flood writes rows by the minute, not by the request.

    Its plain SQL is in otp/audit.py.
    """

    at = models.DateTimeField(db_index=True)  # of the first request a record counts
    client = models.CharField(max_length=64)  # a client's name, "env:<key id>" or "operator"
    key_id = models.CharField(max_length=16, blank=True)
    account = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=32)
    outcome = models.CharField(max_length=32)
    address = models.CharField(max_length=64, blank=True)
    request_id = models.CharField(max_length=128, blank=True)  # of the first request counted
    # How many requests the record stands for: 1 but for a refused authentication. db_default:
    # an instance still running the previous release inserts without it during a deploy.
    count = models.PositiveIntegerField(default=1, db_default=1)
    # A refused authentication's unix minute (at // 60); NULL for a record of one event, which
    # the unique constraint below then leaves out (and out of its index).
    minute = models.BigIntegerField(null=True, blank=True)
    # The time step of a code handed out (never the code): which client got which step.
    step = models.BigIntegerField(null=True, blank=True)

    class Meta:
        db_table = "otp_auditrecord"
        indexes = [models.Index(fields=["account", "at"]), models.Index(fields=["client", "at"])]
        constraints = [
            # The conflict target of otp/audit.py's upsert: its columns and condition must match.
            models.UniqueConstraint(
                fields=["address", "client", "key_id", "account", "action", "outcome", "minute"],
                condition=models.Q(minute__isnull=False),
                name="otp_audit_one_refusal_a_minute",
            )
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%dT%H:%M:%SZ} {self.client} {self.action}: {self.outcome}"
