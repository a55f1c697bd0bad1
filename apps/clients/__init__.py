"""Clients: the people and companies the business serves."""
