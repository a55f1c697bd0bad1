"""Token sets encrypted at rest with the project's MultiFernet (apps/core/crypto.py)."""

import json

from cryptography.fernet import InvalidToken
from django.core.exceptions import ImproperlyConfigured

from apps.core.crypto import fernet


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
