"""Signals the clients app sends; other apps (sync) listen, clients knows none of them."""

from django.dispatch import Signal

# Sent inside the transaction of a bulk write (an import), with `instances`: the clients created
# or updated. post_save does not fire for bulk writes, so listeners need this to follow them.
clients_saved_in_bulk = Signal()
