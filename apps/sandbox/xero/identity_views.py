"""Xero identity over HTTP: authorize (consent page), token, revocation, connections."""

import base64
import secrets
import uuid
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from apps.core.errors import ApplicationError
from apps.sandbox import access, ratelimit
from apps.sandbox.xero import identity, serializers
from apps.sandbox.xero.models import XeroApp, XeroTenant
from apps.sandbox.xero.responses import authenticate, json_answer, not_found, throttled

VENDOR = "xero"


# --- connections -------------------------------------------------------------------------------


def _app_minute(app: XeroApp) -> tuple[dict, HttpResponse | None]:
    result = ratelimit.rate_hit(
        vendor=VENDOR,
        account=app.client_id,
        bucket="app-minute",
        limit=app.app_minute_limit,
        window_seconds=60,
    )
    headers = {"X-AppMinLimit-Remaining": str(result.remaining)}
    if not result.allowed:
        return headers, throttled(headers, "appminute", result.reset_seconds)
    return headers, None


@csrf_exempt
@require_http_methods(["GET"])
def connections_view(request: HttpRequest) -> HttpResponse:
    grant, refused = authenticate(request)
    if refused:
        return refused
    headers, throttled = _app_minute(grant.app)
    if throttled:
        return throttled
    connections = grant.connections.select_related("tenant").order_by("created_at", "id")
    if request.GET.get("authEventId"):
        try:
            connections = connections.filter(auth_event_id=uuid.UUID(request.GET["authEventId"]))
        except ValueError:
            connections = connections.none()
    return json_answer([serializers.connection_to_xero(c) for c in connections], headers=headers)


@csrf_exempt
@require_http_methods(["DELETE"])
def connection_delete_view(request: HttpRequest, connection_id: str) -> HttpResponse:
    grant, refused = authenticate(request)
    if refused:
        return refused
    headers, throttled = _app_minute(grant.app)
    if throttled:
        return throttled
    if not identity.connection_delete(grant=grant, connection_id=connection_id):
        return not_found()
    response = HttpResponse(status=204)
    response["X-AppMinLimit-Remaining"] = headers["X-AppMinLimit-Remaining"]
    return response


# --- identity: authorize (consent page), token, revocation ------------------------------------


def _redirect_with(redirect_uri: str, params: dict) -> HttpResponseRedirect:
    separator = "&" if "?" in redirect_uri else "?"
    return HttpResponseRedirect(f"{redirect_uri}{separator}{urlencode(params)}")


@require_http_methods(["GET", "POST"])
def authorize_view(request: HttpRequest) -> HttpResponse:
    """Xero's login and consent page: pick organisations, allow or deny.

    It stands for Xero's login: only a signed-in staff user of this site may consent (see
    apps.sandbox.access).
    """
    refusal = access.staff_refusal(request)
    if refusal is not None:
        return refusal
    params = request.GET if request.method == "GET" else request.POST
    app = XeroApp.objects.filter(client_id=params.get("client_id", "")).first()
    redirect_uri = params.get("redirect_uri", "")
    if app is None:
        return render(
            request, "sandbox/xero/error.html", {"message": "Unknown client_id."}, status=400
        )
    if redirect_uri not in app.redirect_uris:
        return render(
            request,
            "sandbox/xero/error.html",
            {"message": "redirect_uri is not registered for this app."},
            status=400,
        )
    state = params.get("state", "")
    if params.get("response_type") != "code":
        return _redirect_with(redirect_uri, {"error": "unsupported_response_type", "state": state})
    scope = " ".join(params.get("scope", "").split())
    if not scope:
        return _redirect_with(redirect_uri, {"error": "invalid_scope", "state": state})
    challenge = params.get("code_challenge", "")
    method = params.get("code_challenge_method", "")
    if challenge and method != "S256":
        return _redirect_with(
            redirect_uri,
            {
                "error": "invalid_request",
                "error_description": "code_challenge_method must be S256",
                "state": state,
            },
        )
    if not challenge and not app.client_secret:
        return _redirect_with(
            redirect_uri,
            {
                "error": "invalid_request",
                "error_description": "code_challenge is required",
                "state": state,
            },
        )
    tenants = list(XeroTenant.objects.order_by("name"))
    if request.method == "GET":
        return render(
            request,
            "sandbox/xero/consent.html",
            {"app": app, "tenants": tenants, "scopes": scope.split(), "params": params.dict()},
        )
    if params.get("decision") != "allow":
        return _redirect_with(redirect_uri, {"error": "access_denied", "state": state})
    chosen = [t for t in tenants if str(t.tenant_id) in params.getlist("tenant")]
    try:
        grant = identity.grant_create(app=app, tenants=chosen, scope=scope)
    except ApplicationError as error:
        return render(
            request,
            "sandbox/xero/consent.html",
            {
                "app": app,
                "tenants": tenants,
                "scopes": scope.split(),
                "params": params.dict(),
                "error": error.message,
            },
            status=400,
        )
    code = identity.authorization_code_issue(
        grant=grant,
        redirect_uri=redirect_uri,
        code_challenge=challenge,
        code_challenge_method=method,
    )
    return _redirect_with(
        redirect_uri,
        {"code": code, "scope": scope, "state": state, "session_state": secrets.token_hex(16)},
    )


def _client_credentials(request: HttpRequest) -> tuple[str, str | None]:
    """The client's id and secret: HTTP Basic, or `client_id` and `client_secret` in the form body.

    Xero's identity OAS lists `client_id` and `client_secret` in the refresh body (the
    `RefreshToken` schema), and its own SDKs send them there; Basic is what its guides show. Both
    are accepted (RFC 6749 §2.3.1), one at a time: a request using both is refused, as is a
    confidential app's id in the body without its secret. A public PKCE app (registered without a
    secret) names itself with `client_id` in the body and sends no secret.
    """
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    in_body = "client_secret" in request.POST
    if scheme.lower() == "basic":
        if in_body:
            raise identity.OAuthError(
                "invalid_request",
                "client credentials must be sent one way: HTTP Basic or the form body, not both",
            )
        try:
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        except (ValueError, UnicodeDecodeError) as error:
            raise identity.OAuthError("invalid_client", status=401) from error
        return client_id, secret
    client_id = request.POST.get("client_id", "")
    if in_body:
        return client_id, request.POST.get("client_secret", "")
    if not XeroApp.objects.filter(client_id=client_id, client_secret="").exists():
        raise identity.OAuthError(
            "invalid_client",
            "client credentials are missing: send HTTP Basic, or client_id and client_secret "
            "in the form body",
            status=401,
        )
    return client_id, None


def _oauth_json(body: dict, status: int = 200) -> HttpResponse:
    response = json_answer(body, status=status)
    response["Cache-Control"] = "no-store"
    if status == 401:
        response["WWW-Authenticate"] = 'Basic realm="identity.xero.com"'  # RFC 6749 §5.2
    return response


@csrf_exempt
@require_http_methods(["POST"])
def token_view(request: HttpRequest) -> HttpResponse:
    try:
        client_id, secret = _client_credentials(request)
        app = identity.app_authenticate(client_id=client_id, client_secret=secret)
        grant_type = request.POST.get("grant_type", "")
        if grant_type == "authorization_code":
            tokens = identity.token_exchange_code(
                app=app,
                code=request.POST.get("code", ""),
                redirect_uri=request.POST.get("redirect_uri", ""),
                code_verifier=request.POST.get("code_verifier", ""),
            )
        elif grant_type == "refresh_token":
            tokens = identity.token_refresh(
                app=app, refresh_token=request.POST.get("refresh_token", "")
            )
        else:
            raise identity.OAuthError("unsupported_grant_type")
    except identity.OAuthError as error:
        return _oauth_json(error.body(), status=error.status)
    return _oauth_json(tokens.body())


@csrf_exempt
@require_http_methods(["POST"])
def revocation_view(request: HttpRequest) -> HttpResponse:
    try:
        client_id, secret = _client_credentials(request)
        app = identity.app_authenticate(client_id=client_id, client_secret=secret)
    except identity.OAuthError as error:
        return _oauth_json(error.body(), status=error.status)
    # Like RFC 7009: an unknown token is not an error; the answer is an empty 200.
    identity.token_revoke(app=app, token=request.POST.get("token", ""))
    return HttpResponse(status=200)
