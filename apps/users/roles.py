"""Roles are groups; this table says which model permissions each one holds.

Apps are named by label, not imported, so the users app stays below every domain app. The
post-migrate hook makes each listed Agent model hold exactly the listed actions, gives Admins
every permission of their apps, and leaves permissions on unlisted models as an admin set them.
"""

from django.db import DEFAULT_DB_ALIAS

AGENT = "Agent"
ADMIN = "Admin"
ROLE_NAMES = (AGENT, ADMIN)

ALL_ACTIONS = ("view", "add", "change", "delete")

# (app_label, model) -> actions (or a model's own permission codenames). A model that does not
# exist (yet) is simply skipped.
AGENT_PERMISSIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("clients", "client"): ("view", "add", "change"),
    ("catalog", "service"): ("view",),
    ("catalog", "taxrate"): ("view",),
    ("tickets", "ticket"): ("view", "add", "change"),
    ("tickets", "message"): ("view", "add", "change"),
    ("quotes", "quote"): ("view", "add", "change"),
    ("quotes", "quoteline"): ("view", "add", "change", "delete"),
    ("invoices", "invoice"): ("view", "add", "change"),
    ("invoices", "invoiceline"): ("view", "add", "change", "delete"),
    ("invoices", "payment"): ("view", "add"),
    ("invoices", "commissionbill"): ("view",),
    # Agents import clients only (and see their own import jobs); Admins import everything.
    ("imports", "importjob"): ("view", "import_clients"),
}

# Admins hold every permission of these apps.
ADMIN_APPS = (
    "users",
    "clients",
    "catalog",
    "tickets",
    "quotes",
    "invoices",
    "imports",
    "sync",
    "workspace",
    "django_q",
)
# Not these: their admin pages show other users' addresses and TOTP data, which would let an
# Admin take over any account. Only superusers manage them.
SUPERUSER_ONLY_APPS = ("account", "mfa")


def _codename(action: str, model: str) -> str:
    """`view` on `client` is `view_client`; a model's own permission is named in full."""
    return f"{action}_{model}" if action in ALL_ACTIONS else action


def roles_grant_permissions(sender=None, using=DEFAULT_DB_ALIAS, apps=None, **kwargs) -> None:
    """Make sure both groups exist and hold the permissions listed above."""
    from django.apps import apps as global_apps
    from django.db.models import Q

    if sender is not None:
        # post_migrate is sent once per app: grant once, after the last app's permissions exist
        # (76 runs per migrate or test flush cost about a second).
        with_models = [c for c in global_apps.get_app_configs() if c.models_module is not None]
        if with_models and sender is not with_models[-1]:
            return
    registry = apps or global_apps
    try:
        group_model = registry.get_model("auth", "Group")
        permission_model = registry.get_model("auth", "Permission")
    except LookupError:
        return

    agent, _ = group_model.objects.using(using).get_or_create(name=AGENT)
    admin, _ = group_model.objects.using(using).get_or_create(name=ADMIN)

    agent_filter = Q(pk__in=[])
    for (app_label, model), actions in AGENT_PERMISSIONS.items():
        agent_filter |= Q(
            content_type__app_label=app_label,
            codename__in=[_codename(action, model) for action in actions],
        )
    agent_permissions = permission_model.objects.using(using).filter(agent_filter)
    admin_permissions = permission_model.objects.using(using).filter(
        content_type__app_label__in=ADMIN_APPS
    )
    listed_models = Q(pk__in=[])
    for app_label, model in AGENT_PERMISSIONS:
        listed_models |= Q(content_type__app_label=app_label, content_type__model=model)
    not_granted = agent.permissions.filter(listed_models).exclude(agent_filter)
    agent.permissions.remove(*not_granted)
    agent.permissions.add(*agent_permissions)
    admin.permissions.add(*admin_permissions)
    admin.permissions.remove(
        *permission_model.objects.using(using).filter(
            content_type__app_label__in=SUPERUSER_ONLY_APPS
        )
    )
