"""Xero's side of the sandbox: identity (OAuth 2.0 with PKCE), connections and Accounting 2.0."""
