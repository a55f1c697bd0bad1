"""allauth adapters: no sign-up (staff are provisioned by an admin); TOTP secrets encrypted."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter

from apps.core.crypto import fernet


class StaffOnlyAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return False


class EncryptedSecretsMFAAdapter(DefaultMFAAdapter):
    """allauth stores TOTP keys and recovery-code seeds in the clear unless told otherwise."""

    def encrypt(self, text: str) -> str:
        return fernet().encrypt(text.encode()).decode()

    def decrypt(self, encrypted_text: str) -> str:
        return fernet().decrypt(encrypted_text.encode()).decode()
