"""App config for users; keeps role permissions in step after every migrate."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class UsersConfig(AppConfig):
    name = "apps.users"
    verbose_name = "Users"

    def ready(self) -> None:
        from apps.users.roles import roles_grant_permissions

        # Permissions are created by post_migrate too, so this runs after them (sender=None
        # receivers fire after per-app ones because ours connects last) and whenever an app
        # adds models, their permissions reach the roles without a hand-written migration.
        post_migrate.connect(roles_grant_permissions, dispatch_uid="users.roles_grant_permissions")
