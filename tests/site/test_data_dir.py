"""DATA_DIR is the service user's alone: the folder 0700, the SQLite database and its WAL and
shared-memory files 0600, whichever server made them."""

import os
import stat

import pytest
from rest_framework import status

from otpsite.data_dir import make_private
from tests.support.commands import manage
from tests.support.servers import ROOT, start_gunicorn, start_runserver

API_KEY = os.environ["API_KEY"]


def modes(folder) -> dict[str, int]:
    """The permission bits of `folder` (as ".") and of everything in it."""
    found = {".": stat.S_IMODE(folder.stat().st_mode)}
    for path in folder.rglob("*"):
        found[str(path.relative_to(folder))] = stat.S_IMODE(path.stat().st_mode)
    return found


@pytest.fixture
def loose_umask():
    """The umask most shells have, so that only the service can make the files private."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("loose_umask")
@pytest.mark.parametrize("start", [start_gunicorn, start_runserver])
def test_a_server_keeps_data_dir_0700_and_its_files_0600(tmp_path, start):
    if start is start_runserver:  # as `make dev` does; gunicorn migrates by itself
        assert manage(tmp_path / "data", "migrate", "-v0").returncode == 0
        assert manage(tmp_path / "data", "createcachetable").returncode == 0
    server = start(tmp_path)
    try:
        # A code handed out writes its audit record: the database, its WAL and SHM all exist.
        answer = server.request("GET", "/otp", headers={"X-API-Key": API_KEY})
        assert answer[0] == status.HTTP_200_OK, answer
        found = modes(tmp_path / "data")
    finally:
        server.stop()
    assert {"otp.sqlite3", "otp.sqlite3-wal", "otp.sqlite3-shm"} <= found.keys()
    assert found == {".": 0o700} | {name: 0o600 for name in found if name != "."}


@pytest.mark.usefixtures("loose_umask")
def test_an_existing_open_data_dir_and_database_are_made_private(tmp_path):
    # What an earlier version left: everything readable by every user of the machine.
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    assert manage(data, "migrate", "-v0").returncode == 0
    for path in data.iterdir():
        path.chmod(0o644)
    data.chmod(0o755)

    result = manage(data, "otp", "account", "list")

    assert result.returncode == 0, result.stderr
    found = modes(data)
    assert found == {".": 0o700} | {name: 0o600 for name in found if name != "."}


def test_a_shared_folder_keeps_its_mode(tmp_path):
    # A DATA_DIR pointed at a sticky folder such as /tmp must not lock every other user out of it.
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    make_private(shared / "otp.sqlite3", shared)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    assert stat.S_IMODE((shared / "otp.sqlite3").stat().st_mode) == 0o600


def test_only_data_dir_itself_is_narrowed_not_a_folder_database_url_names(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    elsewhere.chmod(0o755)
    make_private(elsewhere / "otp.sqlite3", tmp_path / "data")
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o755
    assert stat.S_IMODE((elsewhere / "otp.sqlite3").stat().st_mode) == 0o600


def test_a_new_data_dir_is_created_0700_with_its_parents(tmp_path):
    data = tmp_path / "a" / "b" / "data"
    make_private(data / "otp.sqlite3", data)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700


def test_the_image_creates_data_0700_for_the_service_user():
    # container/test.sh checks the running image's /data and the files in it.
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "install -d -m 0700 -o 10001 -g 10001 /data" in dockerfile
