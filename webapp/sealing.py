"""Secrets kept at rest under keys derived from ACCOUNTS_KEY (else SECRET_KEY): Fernet encryption
and keyed digests, one derived key per purpose, so a copy of the database alone reveals nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class Unreadable(Exception):
    """A token sealed under another key (ACCOUNTS_KEY or SECRET_KEY changed), or not a token."""


def key_material(config: Mapping[str, Any], what: str = "secrets at rest") -> str:
    """ACCOUNTS_KEY when set, else SECRET_KEY: what every key here is derived from."""
    material = config.get("ACCOUNTS_KEY") or config.get("SECRET_KEY") or ""
    if not material:
        raise ValueError(f"ACCOUNTS_KEY or SECRET_KEY must be set to keep {what}")
    return str(material)


def derive(material: str, purpose: bytes) -> bytes:
    """A 32-byte key for one purpose (HKDF-SHA256, `purpose` as its info): a key for one use
    tells nothing about another's. Changing `purpose` makes what it sealed unreadable."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        material.encode("utf-8")
    )


def _fernet(material: str, purpose: bytes) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(derive(material, purpose)))


def seal(material: str, purpose: bytes, data: bytes) -> str:
    """`data` encrypted and authenticated (Fernet: AES-128-CBC with HMAC-SHA256), as text."""
    return _fernet(material, purpose).encrypt(data).decode()


def unseal(material: str, purpose: bytes, token: str) -> bytes:
    """What `seal` sealed; raises Unreadable when the key or purpose differs, or on a forgery."""
    try:
        return _fernet(material, purpose).decrypt(token.encode())
    except InvalidToken as error:
        raise Unreadable("sealed under another key, or not a sealed token") from error


def digest(material: str, purpose: bytes, text: str) -> str:
    """HMAC-SHA256 of `text` under the purpose's key, in hex: without the key, a stolen digest
    cannot be checked against guesses."""
    return hmac.new(derive(material, purpose), text.encode("utf-8"), hashlib.sha256).hexdigest()
