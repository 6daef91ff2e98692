"""Field encryption (AES-256-GCM) and keyed digests (HMAC-SHA-256) of personal data.

A value is stored as the text ``v1.<base64(nonce || ciphertext || tag)>``: a fresh 96-bit
random nonce per value, and as associated data the table, column and customer id, so a
ciphertext moved to another row or column does not decrypt. Missing values stay missing.

The blind index of a phone number or e-mail address is the HMAC of its normalised form
(:func:`normalise`), so an exact look-up hashes the query instead of decrypting the table.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import unicodedata
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from custlens.errors import ConfigError
from custlens.privacy._keys import KeyRing

__all__ = ["PREFIX", "encrypt_values", "decrypt_values", "normalise", "digest_values", "pseudonym"]

PREFIX = "v1."
_NONCE = 12
_DIGITS = re.compile(r"\D+")


def _aad(column: str, customer_id: str) -> bytes:
    return f"identity|{column}|{customer_id}".encode()


def encrypt_values(
    key: KeyRing, column: str, values: Sequence[str | None], customer_ids: Sequence[str]
) -> list[str | None]:
    """Encrypt one column of values, each bound to its customer id and the column name."""
    aes = AESGCM(key.data)
    nonces = os.urandom(_NONCE * len(values))
    out: list[str | None] = []
    for i, (value, cid) in enumerate(zip(values, customer_ids)):
        if value is None:
            out.append(None)
            continue
        nonce = nonces[i * _NONCE : (i + 1) * _NONCE]
        sealed = nonce + aes.encrypt(nonce, value.encode("utf-8"), _aad(column, cid))
        out.append(PREFIX + base64.b64encode(sealed).decode("ascii"))
    return out


def decrypt_values(
    key: KeyRing, column: str, tokens: Sequence[str | None], customer_ids: Sequence[str]
) -> list[str | None]:
    """Decrypt one column of tokens.

    Raises
    ------
    ConfigError
        When a token does not decrypt with this key (another key, or a tampered value);
        the message names the column and customer, never a value.
    """
    aes = AESGCM(key.data)
    out: list[str | None] = []
    for token, cid in zip(tokens, customer_ids):
        if token is None:
            out.append(None)
            continue
        try:
            if not token.startswith(PREFIX):
                raise ValueError("prefix")
            sealed = base64.b64decode(token[len(PREFIX) :], validate=True)
            plain = aes.decrypt(sealed[:_NONCE], sealed[_NONCE:], _aad(column, cid))
        except (ValueError, InvalidTag):
            raise ConfigError(
                f"identity.{column} of customer {cid!r} does not decrypt with key {key.key_id!r} "
                "(another key, or the stored value was altered)"
            ) from None
        out.append(plain.decode("utf-8"))
    return out


def normalise(kind: str, value: str) -> str:
    """The form of a phone number or e-mail address that look-ups and block lists compare.

    E-mail: Unicode NFKC, surrounding spaces removed, lower case. Phone: digits only, with a
    leading ``+`` kept for international numbers (``00`` read as ``+``). Other kinds (ids,
    names): NFKC with surrounding spaces removed.
    """
    text = unicodedata.normalize("NFKC", value).strip()
    if kind == "email":
        return text.lower()
    if kind == "phone":
        digits = _DIGITS.sub("", text)
        if text.startswith("+"):
            return "+" + digits
        if digits.startswith("00"):
            return "+" + digits[2:]
        return digits
    return text


def digest_values(secret: bytes, kind: str, values: Sequence[str | None]) -> list[str | None]:
    """Hex HMAC-SHA-256 of ``kind`` and each normalised value (``None`` and empty stay ``None``)."""
    out: list[str | None] = []
    prefix = kind.encode() + b"|"
    for value in values:
        norm = normalise(kind, value) if value is not None else ""
        out.append(hmac.new(secret, prefix + norm.encode("utf-8"), hashlib.sha256).hexdigest() if norm else None)
    return out


def pseudonym(key: KeyRing, customer_id: str) -> str:
    """The pseudonym an erased customer's id is replaced with (stable for one key)."""
    digest = digest_values(key.erasure, "customer_id", [customer_id])[0]
    return "erased-" + (digest or "")[:20]
