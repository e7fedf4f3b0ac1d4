"""Sign-in throttling that an outsider cannot turn against an account's owner.

Failures are counted per account name *and* source address: after LOGIN_FREE_FAILURES from one
source on one name, that source waits 1, 2, 4 … seconds (at most LOGIN_DELAY_MAX_SECONDS)
before it may try that name again. The owner at another address is never slowed, and no count
ever locks the account itself. A source is also capped across every name
(LOGIN_SOURCE_FAILURES_PER_HOUR), so spraying one password over many accounts is slowed too.

Counts live in the rate limiter's storage (RATELIMIT_STORAGE_URI: Redis in production, shared
by every worker; memory in tests). Names are hashed before they become keys, and a name that
does not exist is counted exactly like one that does, so the wait reveals nothing.
"""
from __future__ import annotations

import hashlib
import math
import time
from typing import Callable, TypeVar

from flask import current_app
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage

from ..extensions import limiter

T = TypeVar("T")
SOURCE_WINDOW_SECONDS = 3600  # the per-source cap counts failures in this window


def _account(tenant_id: int, name: str) -> str:
    return hashlib.sha256(f"{tenant_id}:{name.strip().casefold()}".encode()).hexdigest()[:32]


def _keys(tenant_id: int, name: str, ip: str) -> tuple[str, str, str]:
    pair = f"{_account(tenant_id, name)}:{ip}"
    return f"login-fail:{pair}", f"login-wait:{pair}", f"login-source:{ip}"


def _with_storage(use: Callable[[Storage], T]) -> T:
    """Run `use` on the shared storage; while it is unreachable, on one kept in this process
    (each worker then counts alone, which still slows a guesser)."""
    try:
        return use(limiter.limiter.storage)
    except StorageError:
        current_app.logger.warning("rate-limit storage unreachable: sign-in counts in memory")
        return use(current_app.extensions.setdefault("login_throttle_memory", MemoryStorage()))


def wait_seconds(tenant_id: int, name: str, ip: str) -> int:
    """Seconds this source must wait before it may try this name again; 0: it may try now."""
    fail_key, wait_key, source_key = _keys(tenant_id, name, ip)
    cap = current_app.config["LOGIN_SOURCE_FAILURES_PER_HOUR"]

    def ask(s: Storage) -> int:
        ends = [s.get_expiry(k) for k, blocked in ((wait_key, s.get(wait_key) > 0),
                                                   (source_key, s.get(source_key) >= cap))
                if blocked]
        return max(1, math.ceil(max(ends) - time.time())) if ends else 0
    return _with_storage(ask)


def delay_after(failures: int) -> int:
    """The wait after this many failures in a row from one source on one name."""
    cfg = current_app.config
    over = failures - cfg["LOGIN_FREE_FAILURES"]
    return 0 if over <= 0 else min(2 ** (over - 1), cfg["LOGIN_DELAY_MAX_SECONDS"])


def failed(tenant_id: int, name: str, ip: str) -> None:
    """Count a wrong password (or an unknown name) from this source."""
    fail_key, wait_key, source_key = _keys(tenant_id, name, ip)

    def count(s: Storage) -> None:
        n = s.incr(fail_key, current_app.config["LOGIN_FAILURE_MEMORY_SECONDS"])
        s.incr(source_key, SOURCE_WINDOW_SECONDS)
        if delay := delay_after(n):
            s.clear(wait_key)
            s.incr(wait_key, delay)
    _with_storage(count)


def succeeded(tenant_id: int, name: str, ip: str) -> None:
    """The right password: this source starts afresh on this name (its per-source count stays)."""
    fail_key, wait_key, _ = _keys(tenant_id, name, ip)

    def forget(s: Storage) -> None:
        s.clear(fail_key)
        s.clear(wait_key)
    _with_storage(forget)
