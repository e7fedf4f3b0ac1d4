"""Personal data at rest: a key ring for authenticated encryption and a keyed hash for lookups.

Two suites, chosen by CRYPTO_SUITE:

    standard  AES-256-GCM  and HMAC-SHA256   (default)
    national  SM4-GCM      and HMAC-SM3      (GB/T 32907, GB/T 32905; 商用密码应用安全性评估)

A token is ``<algorithm>.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>``. The header is
authenticated as associated data, so neither the algorithm nor the key id can be swapped. The
newest key of the ring encrypts and every key decrypts, so rows written before a rotation stay
readable until `flask keys rotate` has re-encrypted them. Tokens name their algorithm, so a
deployment that changes suite still reads what the other suite wrote.

The lookup hash has a key of its own that rotation never changes: uniqueness and lookups by
mobile or ID number keep working across rotations.

Where the keys come from (the environment first, then the key-ring file):

    DATA_KEYS      "k1:<base64 of 32 bytes>,k2:<…>", newest last
    DATA_HASH_KEY  "<base64 of 32 bytes>"
    KEYRING_FILE   JSON {"keys": [{"id": "k1", "key": "<base64>"}, …], "hash_key": "<base64>"};
                   default instance/keyring.json, mode 0600 (`make run` creates it)
"""
from __future__ import annotations

import base64
import json
import os
import re
import secrets
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

KEY_BYTES = 32           # every ring key and the hash key; cipher keys are derived from it
NONCE_BYTES = 12         # GCM's standard nonce, random per token
TAG_BYTES = 16
KEY_ID = re.compile(r"^[A-Za-z0-9-]{1,16}$")  # no "." (the token separator) nor LIKE wildcards


class Suite(str, Enum):
    standard = "standard"
    national = "national"


class Algorithm(str, Enum):
    aes256gcm = "A256GCM"
    sm4gcm = "SM4GCM"


CIPHER = {Suite.standard: Algorithm.aes256gcm, Suite.national: Algorithm.sm4gcm}
# What the test configuration ships with: refused outside tests like any known default.
TEST_DATA_KEY = base64.b64encode(b"test-data-key-not-for-production").decode()
TEST_HASH_KEY = base64.b64encode(b"test-hash-key-not-for-production").decode()
KNOWN_KEYS = {TEST_DATA_KEY, TEST_HASH_KEY, base64.b64encode(bytes(KEY_BYTES)).decode()}


class KeyRingError(RuntimeError):
    """The key ring is missing, malformed or cannot open a token."""


@dataclass(frozen=True)
class KeyRing:
    keys: dict[str, bytes]   # insertion order: oldest first, the last one encrypts
    hash_key: bytes
    suite: Suite
    source: str              # "DATA_KEYS" or the file's path, for messages

    @property
    def newest(self) -> str:
        return list(self.keys)[-1]

    @property
    def header(self) -> str:
        """What every token written now starts with."""
        return f"{CIPHER[self.suite].value}.{self.newest}."


# -- loading -------------------------------------------------------------------------------------

def _b64key(value: str, what: str, strict: bool) -> bytes:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (ValueError, TypeError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise KeyRingError(f"{what}: not the base64 of {KEY_BYTES} random bytes")
    if strict and value.strip() in KNOWN_KEYS:
        raise KeyRingError(f"{what}: a known test or default key; generate a random one")
    return raw


def _parse_keys(entries: list[tuple[str, str]], what: str, strict: bool) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for kid, value in entries:
        if not KEY_ID.match(kid) or kid in keys:
            raise KeyRingError(f"{what}: key id {kid!r} is invalid or repeated "
                            "(letters, digits and '-', at most 16)")
        keys[kid] = _b64key(value, f"{what} key {kid}", strict)
    return keys


def read_file(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise KeyRingError(f"{path}: not a readable key-ring file ({e})") from None


def load(config) -> KeyRing:
    """The key ring the configuration describes; KeyRingError names what is missing or wrong."""
    try:
        suite = Suite(config.get("CRYPTO_SUITE") or Suite.standard.value)
    except ValueError:
        raise KeyRingError("CRYPTO_SUITE: 'standard' or 'national'") from None
    strict = not config.get("TESTING")  # the test keys are refused everywhere else
    path = Path(config["KEYRING_FILE"])
    stored = {} if config.get("DATA_KEYS") and config.get("DATA_HASH_KEY") else read_file(path)
    if config.get("DATA_KEYS"):
        pairs = [item.split(":", 1) for item in config["DATA_KEYS"].split(",") if item.strip()]
        if any(len(p) != 2 for p in pairs):
            raise KeyRingError("DATA_KEYS: write 'id:base64key' entries separated by commas")
        keys = _parse_keys([(k.strip(), v) for k, v in pairs], "DATA_KEYS", strict)
        source = "DATA_KEYS"
    else:
        keys = _parse_keys([(k.get("id", ""), k.get("key", "")) for k in stored.get("keys", [])],
                           str(path), strict)
        source = str(path)
    if not keys:
        raise KeyRingError(f"DATA_KEYS is not set and {path} holds no key: personal data cannot "
                        "be encrypted (make run creates the file; see README, Configuration)")
    hash_value = config.get("DATA_HASH_KEY") or stored.get("hash_key")
    if not hash_value:
        raise KeyRingError(f"DATA_HASH_KEY is not set and {path} holds no hash_key")
    where = "DATA_HASH_KEY" if config.get("DATA_HASH_KEY") else f"{path} hash_key"
    return KeyRing(keys, _b64key(hash_value, where, strict), suite, source)


def _signature(config) -> tuple:
    # The file may change under a running process (`flask keys rotate` adds a key): its
    # mtime and size are part of what the cached ring was loaded from.
    path = Path(config["KEYRING_FILE"])
    try:
        st = path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
    except OSError:
        stamp = None
    return (config.get("CRYPTO_SUITE"), config.get("DATA_KEYS"), config.get("DATA_HASH_KEY"),
            str(path), stamp)


def ring() -> KeyRing:
    """The current app's key ring, reloaded when its file changes."""
    cache = current_app.extensions.setdefault("keyring", {})
    sig = _signature(current_app.config)
    if cache.get("signature") != sig:
        cache["ring"], cache["signature"] = load(current_app.config), sig
    return cache["ring"]


def new_key() -> str:
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def write_file(path: Path, data: dict) -> None:
    """Replace the key-ring file atomically; the new file is 0600 from its first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def create_file(path: str | Path) -> bool:
    """A new key-ring file with one key and a hash key, unless it exists (make run)."""
    path = Path(path)
    if path.exists():
        return False
    write_file(path, {"keys": [{"id": "k1", "key": new_key()}], "hash_key": new_key()})
    return True


def add_key(config) -> str:
    """Append a new newest key to the key-ring file and return its id. Refused when the keys
    come from DATA_KEYS: the operator adds the key there and restarts every process."""
    if config.get("DATA_KEYS"):
        raise KeyRingError("DATA_KEYS is set: add the new key there (newest last), restart every "
                        "process, then run `flask keys rotate --resume`")
    path = Path(config["KEYRING_FILE"])
    data = read_file(path)
    current = load(config)  # validates the file before it is rewritten
    numbers = [int(k[1:]) for k in current.keys if re.fullmatch(r"k\d+", k)]
    kid = f"k{max(numbers, default=0) + 1}"
    data.setdefault("keys", []).append({"id": kid, "key": new_key()})
    write_file(path, data)
    return kid


# -- primitives ----------------------------------------------------------------------------------

@lru_cache(maxsize=64)
def _cipher_key(key: bytes, alg: Algorithm) -> bytes:
    # One ring key serves either suite: derive a separate key per algorithm (HKDF).
    if alg is Algorithm.aes256gcm:
        return HKDF(hashes.SHA256(), 32, None, b"zhicheng A256GCM").derive(key)
    return HKDF(hashes.SM3(), 16, None, b"zhicheng SM4GCM").derive(key)


def _seal(alg: Algorithm, key: bytes, nonce: bytes, plain: bytes, aad: bytes) -> bytes:
    if alg is Algorithm.aes256gcm:
        return AESGCM(key).encrypt(nonce, plain, aad)
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(aad)
    return enc.update(plain) + enc.finalize() + enc.tag


def _open(alg: Algorithm, key: bytes, nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
    if alg is Algorithm.aes256gcm:
        return AESGCM(key).decrypt(nonce, sealed, aad)
    body, tag = sealed[:-TAG_BYTES], sealed[-TAG_BYTES:]
    dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    dec.authenticate_additional_data(aad)
    return dec.update(body) + dec.finalize()


def encrypt(plain: str, keys: KeyRing | None = None) -> str:
    """A token under the newest key of the ring."""
    keys = keys or ring()
    alg, header = CIPHER[keys.suite], keys.header
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = _seal(alg, _cipher_key(keys.keys[keys.newest], alg), nonce, plain.encode(),
                   header.encode())
    return header + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def decrypt(token: str, keys: KeyRing | None = None) -> str:
    """The plaintext of a token written under any key of the ring, with either suite."""
    keys = keys or ring()
    try:
        alg_name, kid, body = token.split(".", 2)
        alg = Algorithm(alg_name)
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError:
        raise KeyRingError("not a personal-data token") from None
    if kid not in keys.keys:
        raise KeyRingError(f"key {kid!r} is not in the key ring ({keys.source})")
    try:
        return _open(alg, _cipher_key(keys.keys[kid], alg), raw[:NONCE_BYTES],
                     raw[NONCE_BYTES:], f"{alg.value}.{kid}.".encode()).decode()
    except InvalidTag:
        raise KeyRingError(f"token under key {kid!r} fails authentication") from None


def keyed_hash(purpose: str, value: str, keys: KeyRing | None = None) -> str:
    """HMAC-SHA256 (HMAC-SM3 in the national suite) of `value` for lookups and uniqueness, hex;
    the purpose keeps a mobile and an ID number with the same digits apart."""
    keys = keys or ring()
    h = hmac.HMAC(keys.hash_key, hashes.SM3() if keys.suite is Suite.national else hashes.SHA256())
    h.update(purpose.encode() + b"\x00" + value.encode())
    return h.finalize().hex()


def key_of(token: str) -> str:
    """The key id a token was written under."""
    return token.split(".", 2)[1]
