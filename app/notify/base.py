"""What every gateway receives and promises."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Message:
    channel: str       # sms | email
    recipient: str     # a mobile number or an e-mail address
    subject: str
    body: str
    key: str           # the outbox dedupe key: providers that honour one can drop a resend


class GatewayError(Exception):
    """The gateway did not accept the message; the delivery job records it and retries."""


class Gateway(Protocol):
    def send(self, message: Message) -> None:
        """Hand the message to the provider, or raise GatewayError. Returning means accepted."""
