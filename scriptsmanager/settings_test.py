"""Settings for the test suite: the real settings, with a throw-away data folder
and cheap (still bcrypt) password hashing."""

import os
import tempfile

# Before the real settings read it: the suite never touches the real data/ folder.
os.environ.setdefault("BASE_DATA_PATH", tempfile.mkdtemp(prefix="sm-test-data-"))

from scriptsmanager.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["scriptsmanager.testing.FastBCryptSHA256PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not shared-cache memory: concurrency tests then meet SQLite's real
    # locking (WAL, busy timeout) instead of shared-cache table locks.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DATA_PATH / "test.sqlite3")}  # noqa: F405
