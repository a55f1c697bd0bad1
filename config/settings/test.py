"""Settings for the test suite: fast hashing, tasks run inline, mail kept in memory."""

import os
import shutil
import tempfile

from .base import *  # noqa: F403
from .base import Q_CLUSTER

DEBUG = False
SECRET_KEY = "test-secret-key-only-for-the-test-suite-0123456789abcdef"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
MFA_REQUIRED_FOR_ADMINS = True
TOKEN_ENCRYPTION_KEYS = ["7pua8RzOwtgfLbU-uTbNpKruq4GizGpljlG_MvGCU4Y="]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
SANDBOX_ENABLED = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Syncdesk] "
WHITENOISE_AUTOREFRESH = True
STATIC_ROOT = None
# Tests count each drain's attempts; the ones about a drain waiting for its head set it.
SYNC_OUTBOX_DRAIN_WAIT = 0.0

# The SQLite test database is a file, not SQLite's shared-cache in-memory database: with a shared
# cache, a write lock held by one thread (the live server answering a sandbox call, a task run
# in-process) fails the other thread's write at once ("database table is locked", no busy
# wait), which made tests flaky when the machine was busy; a file waits up to the 20 s timeout
# (base.py), as the production database does. One file per test process, removed afterwards,
# in memory where the machine has a roomy tmpfs (/dev/shm): on disk each commit waits for an
# fsync.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    _shm = "/dev/shm"  # noqa: S108 - a file named by this process's id, removed afterwards
    _roomy = os.access(_shm, os.W_OK) and shutil.disk_usage(_shm).free > 2 * 1024**3
    _folder = _shm if _roomy else tempfile.gettempdir()
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(_folder, f"syncdesk-test-{os.getpid()}.sqlite3")
    }
