"""The operator's side: `manage.py otp ...` (commands/otp.py over cli/) and `runserver`."""
