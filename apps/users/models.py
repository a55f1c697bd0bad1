"""The staff User: logs in by e-mail, holds roles through groups."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower

from apps.users.managers import UserManager
from apps.users.roles import ADMIN, AGENT


class User(AbstractUser):
    username = None
    email = models.EmailField("e-mail address", unique=True)
    commission_rate = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=0,
        help_text="Percent of a paid invoice's total billed as commission to its assignee.",
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="users_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    def save(self, *args, **kwargs):
        # allauth looks users up by lower-cased e-mail; store it that way.
        self.email = (self.email or "").strip().lower()
        super().save(*args, **kwargs)

    def has_role(self, role: str) -> bool:
        return self.groups.filter(name=role).exists()

    @property
    def is_admin_role(self) -> bool:
        return self.is_superuser or self.has_role(ADMIN)

    @property
    def is_agent_role(self) -> bool:
        return self.has_role(AGENT)
