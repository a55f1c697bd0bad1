"""allauth adapters: staff accounts are provisioned by an admin, never signed up for."""

from allauth.account.adapter import DefaultAccountAdapter


class StaffOnlyAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return False
