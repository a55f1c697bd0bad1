"""Pure functions between local records and vendor payloads; table-tested in tests/sync."""
