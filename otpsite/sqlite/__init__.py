"""Django's SQLite backend for otp-service, reusing each worker's connections (DATABASES ENGINE
"otpsite.sqlite")."""
