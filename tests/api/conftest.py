"""API test fixtures: a DRF client per role, signed in with a real Bearer token."""

import pytest
from rest_framework.test import APIClient

from apps.api.services import api_token_create


def token_client(user) -> APIClient:
    _, raw = api_token_create(user=user, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def agent_api(agent_user) -> APIClient:
    return token_client(agent_user)


@pytest.fixture
def admin_api(admin_role_user) -> APIClient:
    return token_client(admin_role_user)
