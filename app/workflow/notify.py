"""Notifications: an outbox sent by RQ jobs through pluggable gateways."""
