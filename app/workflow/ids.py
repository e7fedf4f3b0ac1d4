"""ID-card numbers (GB 11643) and unified social credit codes (GB 32100).

Check digits come from python-stdnum; ID numbers and mobiles are kept encrypted under the
personal-data key ring (crypto.py), with a keyed hash for uniqueness and lookups and a masked
form for display.
"""
from __future__ import annotations

import re

from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

from . import crypto

MOBILE = re.compile(r"^1\d{10}$")  # mainland mobile numbers: 11 digits from 1


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


def clean_mobile(value: str | None) -> str | None:
    """The 11-digit mobile number without spaces or dashes, or None."""
    digits = re.sub(r"[\s-]", "", value or "")
    return digits if MOBILE.match(digits) else None


def encrypt_id(number: str) -> str:
    return crypto.encrypt(number)


def decrypt_id(token: str) -> str:
    return crypto.decrypt(token)


def id_hash(number: str) -> str:
    return crypto.keyed_hash("id_number", number)


def mobile_hash(number: str) -> str:
    return crypto.keyed_hash("mobile", number)


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
    """138****1234; anything else keeps at most its last two characters."""
    if not number:
        return ""
    if len(number) == 11:
        return f"{number[:3]}****{number[-4:]}"
    return "*" * max(len(number) - 2, 2) + number[-2:] if len(number) > 4 else "*" * len(number)
