"""Token sets encrypted at rest with MultiFernet, keys from settings.TOKEN_ENCRYPTION_KEYS."""

import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@lru_cache(maxsize=4)
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured(
            "TOKEN_ENCRYPTION_KEYS is empty: vendor tokens cannot be stored. Generate a key with "
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
    """The MultiFernet for the current settings (newest key first, read at call time)."""
    return _multi_fernet(tuple(k.strip() for k in settings.TOKEN_ENCRYPTION_KEYS if k.strip()))


def encrypt_tokens(tokens: dict) -> str:
    return fernet().encrypt(json.dumps(tokens, sort_keys=True).encode()).decode()


def decrypt_tokens(ciphertext: str) -> dict:
    try:
        return json.loads(fernet().decrypt(ciphertext.encode()))
    except InvalidToken as error:
        raise ImproperlyConfigured(
            "A stored token set cannot be decrypted with any key in TOKEN_ENCRYPTION_KEYS."
        ) from error


def rotate_ciphertext(ciphertext: str) -> str:
    """Re-encrypt under the first key, keeping Fernet's embedded timestamp."""
    return fernet().rotate(ciphertext.encode()).decode()
