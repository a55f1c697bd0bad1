"""Faithful emulators of Zoho and Xero for demo and tests; shares no code with sync."""
