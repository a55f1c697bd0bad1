"""Invoices, payments and commission bills: lifecycle and reminders."""
