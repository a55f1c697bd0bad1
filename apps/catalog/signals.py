"""Signals the catalogue sends; other apps (sync) listen, the catalogue knows none of them."""

from django.dispatch import Signal

# Sent inside the transaction of a bulk write (an import), with `instances`: the services created
# or updated. post_save does not fire for bulk writes, so listeners need this to follow them.
services_saved_in_bulk = Signal()
