"""Private files: what the application keeps under the data and backup folders
(database, secret_key, logs, backups holding that key, the users' project
data) is for the service account alone: files 0600, folders 0700.

Every process of the application runs with umask 077 (manage.py, the runner
before it starts a script), files that matter are also created with their
mode, and `private_modes_fix` brings an existing installation, made under
umask 022, into line at start.
"""

import logging
import os
import stat
from collections.abc import Iterable
from logging.handlers import WatchedFileHandler
from pathlib import Path

PRIVATE_UMASK = 0o077
FILE_MODE = 0o600
FOLDER_MODE = 0o700

logger = logging.getLogger(__name__)


def private_umask_set() -> None:
    """Make every file and folder this process (and its children) creates
    private to the service account, whatever umask it was started with."""
    os.umask(PRIVATE_UMASK)


def _entry_fix(name: str, dir_fd: int) -> bool:
    """Give the regular file or folder `name` in `dir_fd` its private mode;
    True when it changed. Symlinks (and what they point to) are left alone."""
    # O_PATH | O_NOFOLLOW pins the entry itself: a symlink swapped in after
    # the listing is opened as the link, seen as one and skipped.
    fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        info = os.fstat(fd)
        if stat.S_ISREG(info.st_mode):
            wanted = FILE_MODE
        elif stat.S_ISDIR(info.st_mode):
            wanted = FOLDER_MODE
        else:
            return False
        if stat.S_IMODE(info.st_mode) == wanted:
            return False
        # fchmod refuses O_PATH descriptors; the /proc link reaches the very
        # inode opened above, even one its owner may not read.
        os.chmod(f"/proc/self/fd/{fd}", wanted)
        return True
    finally:
        os.close(fd)


def private_modes_fix(*, roots: Iterable[Path]) -> int:
    """Set every regular file under each root to 0600 and every folder, the
    roots included, to 0700, never following a symlink (neither into a folder
    nor onto its target). Returns how many entries changed.

    A missing root is skipped. An entry that cannot be changed (another
    owner's, vanished meanwhile) is logged and left; the walk goes on.
    """
    changed = 0
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            continue
        parent = os.open(root.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            changed += _entry_fix(root.name, parent)
        except OSError as error:
            logger.warning("Cannot make %s private: %s", root, error)
        finally:
            os.close(parent)

        def walk_error(error: OSError) -> None:
            logger.warning("Cannot make %s private: %s", error.filename, error.strerror)

        for folder, dirnames, filenames, dir_fd in os.fwalk(
            root, follow_symlinks=False, onerror=walk_error
        ):
            for name in (*dirnames, *filenames):
                try:
                    changed += _entry_fix(name, dir_fd)
                except FileNotFoundError:
                    continue
                except OSError as error:
                    logger.warning("Cannot make %s private: %s", Path(folder) / name, error)
    return changed


class PrivateWatchedFileHandler(WatchedFileHandler):
    """WatchedFileHandler whose file, when it creates it (first start, after a
    rotation), is 0600 whatever the umask."""

    def _open(self):
        fd = os.open(
            self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, FILE_MODE
        )
        return open(fd, self.mode, encoding=self.encoding, errors=self.errors)  # noqa: SIM115
