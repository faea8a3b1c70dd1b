"""The service's JSON log lines as a test reads them, from the `log_output` fixture's buffer."""

import json


def log_lines(log_output) -> list[dict]:
    return [json.loads(line) for line in log_output.getvalue().splitlines() if line.strip()]


def audit_lines(log_output) -> list[dict]:
    return [line for line in log_lines(log_output) if line.get("event") == "audit"]
