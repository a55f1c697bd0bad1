"""Catalogue: the services the business sells, and tax rates."""
