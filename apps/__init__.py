"""Syncdesk's Django apps; DESIGN.md's table says which may import which."""
