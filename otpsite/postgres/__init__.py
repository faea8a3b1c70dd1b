"""Django's PostgreSQL backend for otp-service: pooled connections, each wait for the server bounded
by the request's deadline (DATABASES ENGINE "otpsite.postgres")."""
