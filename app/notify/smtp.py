"""E-mail through SMTP, configured by one URL: smtp://user:password@host:587 (STARTTLS when
the server offers it) or smtps://user:password@host:465 (TLS from the start)."""
from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import unquote, urlsplit

from .base import GatewayError, Message


@dataclass(frozen=True)
class SmtpEmailGateway:
    url: str
    sender: str
    timeout: float = 10

    @classmethod
    def from_config(cls, config: Mapping) -> "SmtpEmailGateway":
        return cls(config.get("SMTP_URL") or "", config.get("MAIL_FROM") or "",
                   config.get("NOTIFY_TIMEOUT_SECONDS", 10))

    def send(self, message: Message) -> None:
        url = urlsplit(self.url)
        if url.scheme not in ("smtp", "smtps") or not url.hostname:
            raise GatewayError("SMTP_URL is not set to smtp://… or smtps://…")
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.sender, message.recipient, message.subject
        mail["Message-ID"] = make_msgid(idstring=message.key.replace(":", "."))
        mail.set_content(message.body)
        implicit_tls = url.scheme == "smtps"
        port = url.port or (465 if implicit_tls else 587)
        context = ssl.create_default_context()
        try:
            if implicit_tls:
                server = smtplib.SMTP_SSL(url.hostname, port, timeout=self.timeout,
                                          context=context)
            else:
                server = smtplib.SMTP(url.hostname, port, timeout=self.timeout)
            with server:
                server.ehlo()
                if not implicit_tls and server.has_extn("starttls"):
                    server.starttls(context=context)
                    server.ehlo()
                if url.username:
                    server.login(unquote(url.username), unquote(url.password or ""))
                server.send_message(mail)
        except (smtplib.SMTPException, OSError) as e:
            raise GatewayError(f"SMTP delivery failed: {type(e).__name__}: {e}") from None
