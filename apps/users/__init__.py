"""Staff accounts: the custom User (login by e-mail), roles and allauth adapters."""
