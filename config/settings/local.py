"""Settings for a developer's machine and `make demo`."""

from .base import *  # noqa: F403
from .base import SANDBOX_BASE_URL, env, sandbox_demo_clients, vendor_urls

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="django-insecure-local-development-key-not-for-production")
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=True)
vars().update(vendor_urls(SANDBOX_ENABLED, SANDBOX_BASE_URL))
vars().update(sandbox_demo_clients(SANDBOX_ENABLED, vars()))
# A fixed key for the local demo only; production requires TOKEN_ENCRYPTION_KEYS to be set.
TOKEN_ENCRYPTION_KEYS = env.list(
    "TOKEN_ENCRYPTION_KEYS", default=["vS1cB7hCHTj0CiqPz5L2m4yYH0lKq1e4rW9V6o3m8aU="]
)
