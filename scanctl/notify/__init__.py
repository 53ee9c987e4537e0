"""Notifications: the outbox and its channels."""
