"""Vendor adapters: one per provider on a shared HTTP client; they return plain records."""
