"""Who is acting: a signed-in user or the system (deadline jobs)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    tenant_id: int
    user_id: int | None
    name: str
    role: str
    org_id: int | None
    ip: str = ""

    @classmethod
    def of(cls, user, ip: str = "") -> "Actor":
        return cls(user.tenant_id, user.id, user.name, user.role, user.org_id, ip)

    @classmethod
    def system(cls, tenant_id: int) -> "Actor":
        return cls(tenant_id, None, "system", "system", None, "")
