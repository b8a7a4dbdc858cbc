"""SMS accounts' secrets encrypted at rest: Fernet (AES-128-CBC with HMAC-SHA256) under a key
derived from ACCOUNTS_KEY, else SECRET_KEY, so a copy of the database alone reveals nothing."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from webapp import sealing

# Changing it makes every stored secret unreadable: it is part of the key, not a setting.
_CONTEXT = b"sms-desk sms-account secrets v1"


class SecretsUnreadable(Exception):
    """The stored secrets were encrypted under another key (ACCOUNTS_KEY or SECRET_KEY changed)."""


def key_material(config: Mapping[str, Any]) -> str:
    """ACCOUNTS_KEY when set, else SECRET_KEY: what the encryption key is derived from."""
    return sealing.key_material(config, "SMS account secrets")


def seal(material: str, secrets: Mapping[str, str]) -> str:
    """The secrets (name → value) as one encrypted token for the `secrets` column."""
    return sealing.seal(material, _CONTEXT, json.dumps(dict(secrets), sort_keys=True).encode())


def unseal(material: str, token: str | None) -> dict[str, str]:
    """The secrets a `seal` token holds; {} for none. Raises SecretsUnreadable on a wrong key."""
    if not token:
        return {}
    try:
        return json.loads(sealing.unseal(material, _CONTEXT, token))
    except sealing.Unreadable as error:
        raise SecretsUnreadable(
            "The SMS account's secrets cannot be read: ACCOUNTS_KEY (or SECRET_KEY) has changed "
            "since they were saved. Enter them again on the account's page."
        ) from error
