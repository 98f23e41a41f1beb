"""API tokens: random, shown once, stored only as a hash.

A token is 32 random bytes (`secrets.token_urlsafe(32)`, 256 bits). Passwords
need a slow, salted hash because people choose guessable ones; a token with
256 bits of entropy cannot be guessed or brute-forced from its hash, so a
single SHA-256 is enough and lets a token be looked up by its hash in one
indexed query. Whoever reads the database learns no usable token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_BYTES = 32


def new_token() -> str:
    """A fresh random token (43 URL-safe characters)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """The hex SHA-256 of `token`: what is stored and looked up."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def hashes_match(stored: str, presented: str) -> bool:
    """Constant-time comparison, so response timing says nothing about how much matched."""
    return hmac.compare_digest(stored.encode(), presented.encode())
