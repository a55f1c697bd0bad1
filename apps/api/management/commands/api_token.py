"""`manage.py api_token create --user EMAIL [--name N] [--expires-days D]`: prints the token once,
as its last line; `api_token revoke --prefix P` revokes one; `api_token list` shows them."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.api.models import ApiToken
from apps.api.services import api_token_create, api_token_revoke


class Command(BaseCommand):
    help = "Create, list or revoke API tokens."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="command", required=True)
        create = commands.add_parser("create", help="Create a token (printed once).")
        create.add_argument("--user", required=True, help="The user's e-mail address.")
        create.add_argument("--name", default="", help="What the token is for.")
        create.add_argument("--expires-days", type=int, default=None)
        listing = commands.add_parser("list", help="List tokens (never the tokens themselves).")
        listing.add_argument("--user", default=None)
        revoke = commands.add_parser("revoke", help="Revoke a token by its prefix.")
        revoke.add_argument("--prefix", required=True)

    def handle(self, *args, command, **options):
        getattr(self, f"_{command}")(**options)

    def _create(self, *, user, name, expires_days, **_):
        account = get_user_model().objects.filter(email__iexact=user.strip()).first()
        if account is None:
            raise CommandError(f"No user with the e-mail address {user}.")
        try:
            token, raw = api_token_create(user=account, name=name, expires_days=expires_days)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        expiry = (
            f"expires {token.expires_at:%Y-%m-%d %H:%M} UTC" if token.expires_at else "no expiry"
        )
        self.stdout.write(
            f"Token {token.prefix}… for {account.email} ({expiry}). It is shown once; keep it safe:"
        )
        self.stdout.write(raw)

    def _list(self, *, user=None, **_):
        tokens = ApiToken.objects.select_related("user")
        if user:
            tokens = tokens.filter(user__email__iexact=user)
        for token in tokens:
            state = "revoked" if token.revoked_at else ("active" if token.is_usable else "expired")
            self.stdout.write(
                f"{token.prefix}…\t{token.user.email}\t{token.name}\t{state}\t"
                f"last used {token.last_used_at or 'never'}"
            )

    def _revoke(self, *, prefix, **_):
        matches = list(ApiToken.objects.filter(prefix=prefix.rstrip("…")))
        if len(matches) != 1:
            raise CommandError(f"{len(matches)} tokens have the prefix {prefix}; name exactly one.")
        api_token_revoke(token=matches[0])
        self.stdout.write(f"Revoked {matches[0].prefix}…")
