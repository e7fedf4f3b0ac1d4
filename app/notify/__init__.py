"""Delivery gateways for the notification outbox, chosen per channel by configuration.

`SMS_GATEWAY` / `EMAIL_GATEWAY` name a built-in gateway ("dev", "http", "smtp") or a
"module:callable" that takes the app config and returns an object with `send(message)`."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module

from .base import Gateway, GatewayError, Message
from .dev import DevGateway
from .http_sms import HttpSmsGateway
from .smtp import SmtpEmailGateway

__all__ = ["BUILT_IN", "DevGateway", "Gateway", "GatewayError", "HttpSmsGateway", "Message",
           "SmtpEmailGateway", "gateway_for"]

BUILT_IN: dict[str, Callable[[Mapping], Gateway]] = {
    "dev": DevGateway.from_config,
    "http": HttpSmsGateway.from_config,
    "smtp": SmtpEmailGateway.from_config,
}
CONFIG_KEY = {"sms": "SMS_GATEWAY", "email": "EMAIL_GATEWAY"}


def gateway_for(channel: str, config: Mapping) -> Gateway:
    """The gateway configured for `channel`; ValueError for an unknown channel or name."""
    if channel not in CONFIG_KEY:
        raise ValueError(f"unknown notification channel {channel!r}")
    name = config.get(CONFIG_KEY[channel]) or "dev"
    factory = BUILT_IN.get(name)
    if factory is None:
        module, _, attr = name.partition(":")
        if not attr:
            raise ValueError(f"{CONFIG_KEY[channel]}={name!r}: use one of {sorted(BUILT_IN)} "
                             f"or module:callable")
        factory = getattr(import_module(module), attr)
    return factory(config)
