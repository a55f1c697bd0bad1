"""Reconciliation: the runs that compare our documents with the vendor's and their differences
(models, admin); the comparison itself is engine/reconcile.py."""
