"""OAuth 2 plumbing shared by the connectors: a token endpoint's answer read into a TokenSet
(errors as OAuthError, whether the vendor says so with HTTP 200 or 400), and PKCE pairs."""

import base64
import hashlib
import json
import secrets

from apps.sync.engine.records import (
    AuthExpired,
    OAuthError,
    Rejected,
    TokenSet,
    TransientError,
)
from apps.sync.engine.transport import HttpClient


def token_set(payload: dict, *, previous_refresh: str = "") -> TokenSet:
    if "error" in payload:
        # Zoho answers OAuth errors with HTTP 200 and {"error": ...} (vendor-contracts §1.5).
        raise OAuthError(str(payload["error"]))
    if "access_token" not in payload:
        raise TransientError("The token endpoint answered without an access token")
    return TokenSet(
        access_token=payload["access_token"],
        refresh_token=payload.get("refresh_token") or previous_refresh,
        expires_in=int(payload.get("expires_in") or 3600),
        api_domain=payload.get("api_domain", ""),
        scope=payload.get("scope", ""),
    )


def post_token(client: HttpClient, url: str, **kwargs) -> dict:
    try:
        response = client.request("POST", url, **kwargs)
    except Rejected as error:
        # Xero answers 400 {"error": "invalid_grant"}; read the code from the body.
        try:
            code = json.loads(error.body or "{}").get("error") or "invalid_request"
        except ValueError:
            code = "invalid_request"
        raise OAuthError(code) from error
    except AuthExpired as error:
        raise OAuthError("invalid_client") from error
    return response.json()


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) per RFC 7636."""
    verifier = secrets.token_urlsafe(64)[:96]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.decode().rstrip("=")
