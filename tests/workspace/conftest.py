"""Staff page tests: an Agent and an Admin signed in, and a small business to show."""

import pytest

from apps.users.roles import AGENT
from apps.users.services import user_provision
from tests.conftest import PASSWORD


@pytest.fixture
def second_agent(db):
    return user_provision(email="agent2@example.com", password=PASSWORD, role=AGENT)
