"""The shared HTTP client: redaction and the error taxonomy."""

import pytest
import requests
import responses

from apps.sync.connectors.xero.adapter import parse_error as xero_error
from apps.sync.connectors.zoho.books.adapter import parse_error as books_error
from apps.sync.engine.records import NotFound, RateLimited, Rejected, TransientError
from apps.sync.engine.transport import CallContext, HttpClient, redact

pytestmark = pytest.mark.django_db
URL = "https://api.example.test/thing"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ('{"access_token": "abc123", "x": 1}', "abc123"),
        ('{"refresh_token":"r-1"}', "r-1"),
        ("grant_type=refresh_token&refresh_token=r-2&client_secret=s-3", "r-2"),
        ("grant_type=refresh_token&refresh_token=r-2&client_secret=s-3", "s-3"),
        ("code=auth-code-4&state=x", "auth-code-4"),
        ("Authorization: Zoho-oauthtoken 1000.abc.def", "1000.abc.def"),
        ("Bearer eyJhbGciOi.payload.sig", "eyJhbGciOi.payload.sig"),
    ],
)
def test_redact_masks_secrets(text, secret):
    assert secret not in redact(text)


def client():
    return HttpClient(context=CallContext())


@responses.activate
@pytest.mark.parametrize(
    ("status", "body", "headers", "error"),
    [
        (500, {}, {}, TransientError),
        (503, {}, {}, TransientError),
        (429, {}, {"Retry-After": "7"}, RateLimited),
        (404, {"code": 1002, "message": "Invoice does not exist."}, {}, NotFound),
        (400, {"code": 4, "message": "Invalid value"}, {}, Rejected),
        (200, {"code": 1001, "message": "Contact exists"}, {}, Rejected),
    ],
)
def test_error_taxonomy(status, body, headers, error):
    responses.post(URL, status=status, json=body, headers=headers)
    with pytest.raises(error) as raised:
        client().request("POST", URL, error_parser=books_error)
    if error is RateLimited:
        assert raised.value.retry_after == 7.0
    if error is TransientError:
        assert raised.value.uncertain  # a POST that failed at the vendor may have happened


@responses.activate
def test_timeout_on_post_is_uncertain_on_get_is_not():
    responses.post(URL, body=requests.ReadTimeout())
    responses.get(URL, body=requests.ConnectTimeout())
    with pytest.raises(TransientError) as post_error:
        client().request("POST", URL)
    with pytest.raises(TransientError) as get_error:
        client().request("GET", URL)
    assert post_error.value.uncertain and not get_error.value.uncertain


@responses.activate
def test_xero_validation_messages_are_surfaced():
    responses.put(
        URL,
        status=400,
        json={
            "ErrorNumber": 10,
            "Type": "ValidationException",
            "Elements": [
                {"ValidationErrors": [{"Message": "The contact name X is already assigned"}]}
            ],
        },
    )
    with pytest.raises(Rejected) as raised:
        client().request("PUT", URL, error_parser=xero_error)
    assert "already assigned" in raised.value.message


@responses.activate
def test_a_2xx_that_is_not_json_is_uncertain_on_a_write_only():
    responses.post(URL, body="<html>proxy page</html>", status=200)
    responses.get(URL, body="<html>proxy page</html>", status=200)
    with pytest.raises(TransientError) as post_error:
        client().request("POST", URL)
    with pytest.raises(TransientError) as get_error:
        client().request("GET", URL)
    assert post_error.value.uncertain and not get_error.value.uncertain
