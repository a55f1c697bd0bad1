"""Secrets at rest: one MultiFernet built from settings.TOKEN_ENCRYPTION_KEYS (newest first).

Vendor token sets (sync) and TOTP secrets (users) are encrypted with it; rotation re-encrypts
under the first key while older keys still decrypt.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@lru_cache(maxsize=4)
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured(
            "TOKEN_ENCRYPTION_KEYS is empty: secrets cannot be stored. Generate a key with "
            "`python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'`."
        )
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError) as error:
        raise ImproperlyConfigured(
            "TOKEN_ENCRYPTION_KEYS holds a key that is not a Fernet key."
        ) from error


def fernet() -> MultiFernet:
    """The MultiFernet for the current settings (read at call time, so tests can override)."""
    return _multi_fernet(tuple(k.strip() for k in settings.TOKEN_ENCRYPTION_KEYS if k.strip()))
