"""Sync test settings: real vendor hosts for `responses`-based adapter tests, fast clocks."""

import pytest

from tests.sync import factories


@pytest.fixture(autouse=True)
def _vendor_urls(settings):
    settings.ZOHO_ACCOUNTS_URL = factories.ZOHO_ACCOUNTS
    settings.ZOHO_API_URL = factories.ZOHO_API
    settings.XERO_LOGIN_URL = "https://login.xero.com"
    settings.XERO_IDENTITY_URL = factories.XERO_IDENTITY
    settings.XERO_API_URL = factories.XERO_API
    settings.ZOHO_CLIENT_ID = "zoho-client"
    settings.ZOHO_CLIENT_SECRET = "zoho-client-secret-XYZ"
    settings.XERO_CLIENT_ID = "xero-client"
    settings.XERO_CLIENT_SECRET = "xero-client-secret-XYZ"
    settings.SYNC_OUTBOX_BACKOFF_BASE = 0.01
    settings.SYNC_OUTBOX_BACKOFF_CAP = 0.05
    settings.SYNC_CIRCUIT_PROBE_BASE = 0.01
    settings.SYNC_CIRCUIT_PROBE_CAP = 0.05
