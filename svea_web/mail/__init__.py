"""Outgoing e-mail and the local outbox."""
