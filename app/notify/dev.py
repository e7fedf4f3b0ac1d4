"""The development gateway: logs the message instead of sending it."""
from __future__ import annotations

import logging
from collections.abc import Mapping

from .base import Message

log = logging.getLogger("app.notify")


class DevGateway:
    """Accepts everything and logs it, so the outbox row is marked sent."""

    @classmethod
    def from_config(cls, config: Mapping) -> "DevGateway":
        return cls()

    def send(self, message: Message) -> None:
        log.info("dev %s to %s [%s] %s: %s", message.channel, message.recipient, message.key,
                 message.subject, message.body)
