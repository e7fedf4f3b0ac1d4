"""ID-card numbers (GB 11643) and unified social credit codes (GB 32100).

Check digits come from python-stdnum; ID numbers are kept encrypted, with a keyed hash for
uniqueness and a masked form for display.
"""
from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet
from flask import current_app
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError


def clean_id_number(value: str) -> str | None:
    """The compact 18-character ID number, or None when it fails GB 11643."""
    try:
        return ric.validate(value.strip().upper())
    except ValidationError:
        return None


def clean_uscc(value: str) -> str | None:
    """The 18-character credit code, or None when it fails GB 32100."""
    try:
        return uscc.validate(value.strip().upper())
    except ValidationError:
        return None


def _key() -> bytes:
    configured = current_app.config.get("ID_ENCRYPTION_KEY")
    if configured:
        return configured.encode()
    digest = hashlib.sha256(b"id-number:" + current_app.config["SECRET_KEY"].encode()).digest()
    return base64.urlsafe_b64encode(digest)


def encrypt_id(number: str) -> str:
    return Fernet(_key()).encrypt(number.encode()).decode()


def decrypt_id(token: str) -> str:
    return Fernet(_key()).decrypt(token.encode()).decode()


def id_hash(number: str) -> str:
    return hmac.new(_key(), number.encode(), hashlib.sha256).hexdigest()


def mask_id(number: str) -> str:
    """Show the first three and last two characters only: 110*************2X."""
    return number[:3] + "*" * (len(number) - 5) + number[-2:]


def mask_name(name: str) -> str:
    """Keep the first and last characters of a name: 张*明, 欧阳**华, 李*."""
    name = (name or "").strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_mobile(number: str | None) -> str:
    return f"{number[:3]}****{number[-4:]}" if number and len(number) == 11 else (number or "")
