"""Shared plumbing: base model, money helpers, errors, health."""
