"""The password policy: long enough, not a common password, not the account's own name; no
composition rules (they make passwords harder to remember, not to guess)."""
from __future__ import annotations

from functools import cache
from pathlib import Path

from flask_babel import lazy_gettext as _l

# Argon2 hashes whatever it is given: a bound keeps one request from costing megabytes of work.
PASSWORD_MAX_LENGTH = 128
PASSWORD_MIN_LENGTH = 10
OWN_NAME_MIN_LENGTH = 4  # shorter login names would refuse too many good passwords
# Leaked-password top lists, Chinese favourites and keyboard and number runs, one per line.
COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().casefold() for line in lines
                     if line.strip() and not line.startswith("#"))


def password_problem(password: str, *own_names: str | None):
    """Why `password` is refused (a message), or None. `own_names`: the account's login name and
    mobile number, which the password may not contain."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return _l("密码至少%(n)d位。", n=PASSWORD_MIN_LENGTH)
    if len(password) > PASSWORD_MAX_LENGTH:
        return _l("密码最多%(n)d位。", n=PASSWORD_MAX_LENGTH)
    folded = password.casefold()
    if folded in common_passwords():
        return _l("该密码过于常见，容易被猜中，请换一个。")
    if any(name and len(name.strip()) >= OWN_NAME_MIN_LENGTH and name.strip().casefold() in folded
           for name in own_names):
        return _l("密码不能包含用户名或手机号码。")
    return None
