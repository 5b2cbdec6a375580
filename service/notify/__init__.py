"""The notification outbox and its deliverers."""
