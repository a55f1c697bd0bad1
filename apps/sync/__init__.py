"""The sync engine: connections, bindings, outbox, conflicts, adapters and mappers."""
