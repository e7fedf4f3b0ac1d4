"""SMS through an HTTP gateway: one JSON POST per message, authorised by a bearer token."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

from .base import GatewayError, Message


@dataclass(frozen=True)
class HttpSmsGateway:
    url: str
    token: str
    timeout: float = 10

    @classmethod
    def from_config(cls, config: Mapping) -> "HttpSmsGateway":
        return cls(config.get("SMS_GATEWAY_URL") or "", config.get("SMS_GATEWAY_TOKEN") or "",
                   config.get("NOTIFY_TIMEOUT_SECONDS", 10))

    def send(self, message: Message) -> None:
        """POST {"to", "text", "id"}; any 2xx answer means accepted. The id doubles as an
        Idempotency-Key so a provider that honours it drops a retried duplicate."""
        if not self.url.startswith(("https://", "http://")):
            raise GatewayError("SMS_GATEWAY_URL is not set to an http(s) URL")
        payload = json.dumps({"to": message.recipient, "text": message.body, "id": message.key},
                             ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(self.url, data=payload, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8",
            "Authorization": f"Bearer {self.token}",
            "Idempotency-Key": message.key,
        })
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:
                resp.read()
        except urllib.error.HTTPError as e:  # the token is never part of the message
            raise GatewayError(f"SMS gateway answered HTTP {e.code}") from None
        except (urllib.error.URLError, OSError) as e:
            raise GatewayError(f"SMS gateway unreachable: {e}") from None
