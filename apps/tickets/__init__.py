"""Tickets and their message threads."""
