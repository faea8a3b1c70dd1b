"""AUDIT_ISSUED_CODES=log on a real gunicorn: each code handed out is a line on the server's
stdout and no row; with stdout on a full disk (/dev/full) no code leaves, while verifications,
whose record is their row, go on."""

import json
import os
import sqlite3
import time

from rest_framework import status

from otp.core import totp
from tests.support.servers import start_gunicorn

API_KEY = os.environ["API_KEY"]
OTP_SECRET = os.environ["OTP_SECRET"]


def records(tmp_path) -> list[tuple[str, str]]:
    with sqlite3.connect(tmp_path / "data" / "otp.sqlite3") as database:
        rows = database.execute("SELECT action, outcome FROM otp_auditrecord ORDER BY id")
        return rows.fetchall()


def verify(server, code: str) -> tuple[int, dict]:
    status_code, _, body = server.request(
        "POST",
        "/otp/verify",
        json.dumps({"otp": code}),
        {"X-API-Key": API_KEY, "Content-Type": "application/json"},
    )
    return status_code, json.loads(body)


def test_each_code_is_a_line_on_stdout_and_no_row(tmp_path):
    server = start_gunicorn(tmp_path, AUDIT_ISSUED_CODES="log", LOG_LEVEL="WARNING")
    try:
        answers = [server.request("GET", "/otp", headers={"X-API-Key": API_KEY}) for _ in range(3)]
        assert verify(server, json.loads(answers[0][2])["otp"])[1]["valid"] is True
    finally:
        server.stop()
    assert [status_code for status_code, _, _ in answers] == [status.HTTP_200_OK] * 3
    request_ids = [headers["X-Request-ID"] for _, headers, _ in answers]
    lines = [json.loads(line) for line in server.log().splitlines() if '"audit"' in line]
    issued = [line for line in lines if line["action"] == "issue"]
    assert [line["request_id"] for line in issued] == request_ids
    assert {line["outcome"] for line in issued} == {"issued"}
    # LOG_LEVEL=WARNING hides every INFO line but these: the copy of the verification's row too.
    assert len(lines) == len(issued)
    assert records(tmp_path) == [("verify", "valid")]


def test_with_stdout_on_a_full_disk_no_code_leaves(tmp_path):
    server = start_gunicorn(tmp_path, stdout="/dev/full", AUDIT_ISSUED_CODES="log")
    try:
        refused = [server.request("GET", "/otp", headers={"X-API-Key": API_KEY}) for _ in range(2)]
        checked = verify(server, totp.code_at(OTP_SECRET, int(time.time())))
    finally:
        server.stop()
    for status_code, _, body in refused:
        assert status_code == status.HTTP_503_SERVICE_UNAVAILABLE
        assert json.loads(body) == {"error": "Service unavailable"}
    assert checked == (status.HTTP_200_OK, {"valid": True, "timestamp": checked[1]["timestamp"]})
    assert records(tmp_path) == [("verify", "valid")]
