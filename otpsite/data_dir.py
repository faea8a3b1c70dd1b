"""The SQLite folder and files kept private to the service's user: folder 0700, files 0600."""

import os
import stat
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600
# SQLite creates its WAL and shared-memory files with the mode of the database file (os_unix.c,
# findCreateFileMode and unixOpenSharedMemory), so a private database keeps them private too.
_COMPANIONS = ("-wal", "-shm", "-journal")


def make_private(database: Path, data_dir: Path) -> None:
    """Create the folder of the SQLite file `database` as 0700 and the file itself as 0600, and
    take group and other access away from the database files that exist; OSError if it cannot.

    An existing folder is narrowed only when it is DATA_DIR, this user owns it and it is not a
    shared one (sticky, like /tmp): a volume prepared by someone else (Kubernetes' fsGroup) or a
    folder named by DATABASE_URL keeps its mode, and the files in it are private all the same.
    """
    folder = database.parent
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    if folder == data_dir:
        _narrow(folder, FOLDER_MODE, skip_shared=True)
    # Made here, before SQLite opens it: SQLite would create it 0644 (less the umask).
    os.close(os.open(database, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    for path in (database, *(Path(f"{database}{suffix}") for suffix in _COMPANIONS)):
        _narrow(path, FILE_MODE, skip_shared=False)


def _narrow(path: Path, mode: int, *, skip_shared: bool) -> None:
    """Take the bits outside `mode` away from `path`, if it exists and this user owns it."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return
    if status.st_uid != os.geteuid() or not status.st_mode & 0o077:
        return
    if skip_shared and status.st_mode & stat.S_ISVTX:
        return
    path.chmod(stat.S_IMODE(status.st_mode) & mode)
