"""Writes for staff users: provisioning with a role and a verified address."""

from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.db import transaction

from apps.users.models import User
from apps.users.roles import ROLE_NAMES


@transaction.atomic
def user_provision(
    *,
    email: str,
    password: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    superuser: bool = False,
) -> User:
    """Create or update a staff user in `role`, with a verified primary e-mail for allauth."""
    if role not in ROLE_NAMES:
        raise ValueError(f"Unknown role {role!r}; expected one of {', '.join(ROLE_NAMES)}.")
    email = email.strip().lower()
    user, _ = User.objects.get_or_create(email=email)
    user.first_name = first_name or user.first_name
    user.last_name = last_name or user.last_name
    user.is_staff = True
    user.is_active = True
    user.is_superuser = superuser
    user.set_password(password)
    user.save()
    user.groups.set([Group.objects.get_or_create(name=role)[0]])
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


def mfa_secrets_rotate_keys() -> int:
    """Re-encrypt every stored TOTP secret and recovery-code seed under the first Fernet key.

    They share TOKEN_ENCRYPTION_KEYS with vendor tokens, so `sync rotate-keys` calls this too.
    """
    from allauth.mfa.models import Authenticator

    from apps.core.crypto import fernet

    count = 0
    for pk in Authenticator.objects.values_list("pk", flat=True):
        with transaction.atomic():
            authenticator = Authenticator.objects.select_for_update().get(pk=pk)
            data = dict(authenticator.data)
            for key in ("secret", "seed"):
                if data.get(key):
                    data[key] = fernet().rotate(data[key].encode()).decode()
            authenticator.data = data
            authenticator.save(update_fields=["data"])
            count += 1
    return count
