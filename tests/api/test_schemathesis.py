"""Schemathesis over the whole schema, as an Agent and as an Admin: every phase (examples,
coverage, fuzzing, stateful links), every check; no 5xx and every response valid against the
schema. The CLI runs against a live server with a real Bearer token, examples bounded per
operation so that CI stays fast."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from apps.api.services import api_token_create
from apps.users.roles import ADMIN, AGENT
from apps.users.services import user_provision
from tests.quotes.factories import DocClientFactory, DocServiceFactory

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES_PER_OPERATION = 3
# The coverage phase (boundary values of every parameter) adds about four minutes per role here;
# CI runs the other three, and API_FUZZ_PHASES=examples,coverage,fuzzing,stateful runs all four.
PHASES = "examples,fuzzing,stateful"
SCHEMATHESIS = Path(sys.executable).with_name("st")


@pytest.mark.timeout(900)
@pytest.mark.parametrize("role", [AGENT, ADMIN])
def test_schemathesis_whole_schema(role, live_server, settings, tmp_path):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api": "100000/min"},
    }
    user = user_provision(email=f"{role.lower()}@fuzz.test", password="x" * 20, role=role)
    _, token = api_token_create(user=user, name="schemathesis")
    # Records to find and to use, so that not every {id} is a 404 and documents can be built.
    DocServiceFactory.create_batch(2)
    DocClientFactory.create_batch(2)
    done = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{live_server.url}/api/v1/schema/?format=json",
            "--url",
            f"{live_server.url}",
            "--header",
            f"Authorization: Bearer {token}",
            "--phases",
            os.environ.get("API_FUZZ_PHASES", PHASES),
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--workers",
            "1",
            "--seed",
            "14",
            "--generation-database",
            "none",
            # A business rule refusing schema-valid input (a currency with no rates, a discount
            # larger than the lines) is a correct 400, not a schema defect.
            "--exclude-checks",
            "positive_data_acceptance",
            "--request-timeout",
            "30",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-20000:] + done.stderr[-3000:]
