"""What the service must remember across workers and instances: used time steps, used nonces
(with the database cache) and failed authentications."""

from django.db import models


class AcceptedStep(models.Model):
    """The latest time step accepted for one secret (RFC 6238 section 5.2).

    Only a later step is accepted after it, so each code works once. The secret is named by its
    fingerprint (otp.totp.fingerprint), never stored.
    """

    fingerprint = models.CharField(max_length=64, primary_key=True)
    last_step = models.BigIntegerField()

    class Meta:
        db_table = "otp_acceptedstep"  # named in otp/one_time.py's SQL

    def __str__(self):
        return f"{self.fingerprint[:12]}… at step {self.last_step}"


class UsedNonce(models.Model):
    """A v2 nonce already accepted for a key, kept until its timestamp could no longer pass.

    Used when the cache is Django's database cache, which drops live entries once it holds
    MAX_ENTRIES: a forgotten nonce could be replayed. With Redis the cache holds them instead.
    """

    claim = models.CharField(max_length=96, primary_key=True)  # "<key id>:<nonce>"
    expires_at = models.BigIntegerField(db_index=True)

    class Meta:
        db_table = "otp_usednonce"  # named in otp/nonces.py's SQL

    def __str__(self):
        return f"{self.claim} until {self.expires_at}"


class AuthFailureWindow(models.Model):
    """Failed authentications from one client address since `window_start` (unix seconds)."""

    address = models.CharField(max_length=64, primary_key=True)
    window_start = models.BigIntegerField()
    failures = models.PositiveIntegerField()

    class Meta:
        db_table = "otp_authfailurewindow"  # named in otp/lockout.py's SQL

    def __str__(self):
        return f"{self.address}: {self.failures} since {self.window_start}"
