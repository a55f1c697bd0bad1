"""Fixtures shared by the whole suite: clean cache per test, users in each role."""

import pytest
from django.core.cache import cache

from apps.users.roles import ADMIN, AGENT
from apps.users.services import user_provision

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(scope="session", autouse=True)
def _fast_postgres_flush():
    """A transactional test ends with a flush, which on PostgreSQL TRUNCATEs every table (~0.7 s
    a test). DELETE costs next to nothing on the few rows a test leaves, and Django's foreign
    keys are DEFERRABLE INITIALLY DEFERRED, so inside the flush's transaction order is free."""
    try:
        from django.db.backends.postgresql.operations import DatabaseOperations
    except ImportError:  # no PostgreSQL driver: nothing to speed up
        yield
        return

    original = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or allow_cascade or not tables:
            return original(
                self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        # Table names come from introspection and are quoted.
        return [f"DELETE FROM {self.quote_name(table)};" for table in tables]  # noqa: S608

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = original


@pytest.fixture(autouse=True)
def _clear_cache():
    # Login rate limits and the rate governor live in the cache; tests must not share them.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def agent_user(db):
    return user_provision(email="agent@example.com", password=PASSWORD, role=AGENT)


@pytest.fixture
def admin_role_user(db):
    return user_provision(email="boss@example.com", password=PASSWORD, role=ADMIN)


@pytest.fixture
def admin_with_mfa(admin_role_user):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    TOTP.activate(admin_role_user, generate_totp_secret())
    return admin_role_user


@pytest.fixture
def agent_client(client, agent_user):
    client.force_login(agent_user)
    return client


@pytest.fixture
def admin_client_mfa(client, admin_with_mfa):
    """A logged-in Admin who has TOTP set up (the state every real admin session is in)."""
    client.force_login(admin_with_mfa)
    return client


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` need real row locks; on SQLite they are skipped, and say why."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL); SQLite has no row locks")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)
