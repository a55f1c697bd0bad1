"""Zoho Accounts, Books v3 and CRM v6 as the sandbox emulates them."""
