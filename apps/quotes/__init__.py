"""Quotes and their lines: numbering, totals, lifecycle."""
