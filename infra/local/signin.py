"""Local sign-in: RS256 tokens from a local key, checked as a JWT authorizer would.

In AWS the HTTP API's JWT authorizer verifies the token from the identity
provider and hands its claims to the function. Locally, ``LocalSignIn``
plays both parts. ``issue`` signs a token with a key made at start-up.
``authorize`` verifies a request's ``Authorization: Bearer`` token as the
authorizer does (signature, ``kid``, issuer, audience, expiry, not-before),
then returns the claims with string values, as API Gateway passes them.

This code runs only in the local runtime, never in a function.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import unicodedata
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from nature_risk.json_input import JsonNestingError, load_json
from nature_risk.text_encoding import is_utf8_encodable

from infra.local.server import AuthorizationFailed

ISSUER = "http://127.0.0.1/local-sign-in"
AUDIENCE = "nature-risk-local"
TOKEN_LIFETIME_SECONDS = 3600
# Clock difference tolerated on exp and nbf, in seconds.
LEEWAY_SECONDS = 5
MAX_TOKEN_CHARS = 8192
MAX_USER_LENGTH = 128


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LocalSignIn:
    """A local identity provider and the matching JWT authorizer."""

    def __init__(self, issuer: str = ISSUER, audience: str = AUDIENCE) -> None:
        self.issuer = issuer
        self.audience = audience
        self.key_id = secrets.token_hex(8)
        self._private_key = rsa.generate_private_key(
            public_exponent=65537, key_size=2048
        )
        self._public_key = self._private_key.public_key()

    def issue(
        self,
        subject: str,
        *,
        lifetime_seconds: int = TOKEN_LIFETIME_SECONDS,
        now: float | None = None,
        extra_claims: Mapping[str, Any] | None = None,
    ) -> str:
        """Sign an access token for ``subject``."""
        issued_at = int(time.time() if now is None else now)
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": issued_at,
            "nbf": issued_at,
            "exp": issued_at + lifetime_seconds,
            "jti": secrets.token_hex(8),
            **(extra_claims or {}),
        }
        header = {"alg": "RS256", "typ": "JWT", "kid": self.key_id}
        signing_input = (
            _b64encode(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64encode(json.dumps(claims, separators=(",", ":")).encode())
        )
        signature = self._private_key.sign(
            signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256()
        )
        return f"{signing_input}.{_b64encode(signature)}"

    def verify(self, token: str, *, now: float | None = None) -> dict[str, Any]:
        """Verify a token and return its claims; raise ``AuthorizationFailed``."""
        if len(token) > MAX_TOKEN_CHARS or token.count(".") != 2:
            raise AuthorizationFailed("malformed token")
        header_part, claims_part, signature_part = token.split(".")
        try:
            header = json.loads(_b64decode(header_part))
            claims = json.loads(_b64decode(claims_part))
            signature = _b64decode(signature_part)
        except ValueError:
            raise AuthorizationFailed("malformed token") from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise AuthorizationFailed("malformed token")
        if header.get("alg") != "RS256" or header.get("kid") != self.key_id:
            raise AuthorizationFailed("unknown signing key or algorithm")
        try:
            self._public_key.verify(
                signature,
                f"{header_part}.{claims_part}".encode("ascii"),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except InvalidSignature:
            raise AuthorizationFailed("invalid signature") from None
        self._check_claims(claims, time.time() if now is None else now)
        return claims

    def _check_claims(self, claims: Mapping[str, Any], now: float) -> None:
        if claims.get("iss") != self.issuer:
            raise AuthorizationFailed("wrong issuer")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.audience not in audiences:
            raise AuthorizationFailed("wrong audience")
        expires = claims.get("exp")
        if not isinstance(expires, int | float) or expires + LEEWAY_SECONDS <= now:
            raise AuthorizationFailed("expired")
        not_before = claims.get("nbf", 0)
        if not isinstance(not_before, int | float) or not_before - LEEWAY_SECONDS > now:
            raise AuthorizationFailed("not yet valid")
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise AuthorizationFailed("no subject")

    def authorize(self, headers: Mapping[str, str]) -> dict[str, str]:
        """Check the request's bearer token; return claims with string values.

        This is the local server's authorizer hook for JWT routes.
        """
        value = headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthorizationFailed("missing bearer token")
        claims = self.verify(token.strip())
        return {key: _claim_text(value) for key, value in claims.items()}

    def sign_in_handler(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """Handle ``POST /local/sign-in`` with ``{"user": "<name>"}``.

        Returns an access token for that user, so a laptop can call the
        signed-in routes with ``Authorization: Bearer <token>``.
        """
        try:
            body = load_json(event.get("body") or "{}")
        except (ValueError, JsonNestingError):
            body = None
        user = body.get("user") if isinstance(body, dict) else None
        if not is_valid_user(user):
            return _json_response(
                400,
                {
                    "error": {
                        "code": "invalid_input",
                        "message": (
                            'Send {"user": "<name>"} with Content-Type:'
                            " application/json. The name is 1 to"
                            f" {MAX_USER_LENGTH} characters of UTF-8 text"
                            " without control characters."
                        ),
                    }
                },
            )
        token = self.issue(user)
        return _json_response(
            200,
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME_SECONDS,
            },
        )


def is_valid_user(user: object) -> bool:
    """Tell whether a sign-in name can be a token subject.

    The portfolio function stores the subject and rejects one with control
    characters or text that UTF-8 cannot encode, so such a name gets no token.
    """
    if not isinstance(user, str) or not 0 < len(user) <= MAX_USER_LENGTH:
        return False
    if not is_utf8_encodable(user):
        return False
    return not any(unicodedata.category(character) == "Cc" for character in user)


def _claim_text(value: Any) -> str:
    # API Gateway passes every claim as a string, and a list becomes "[a b]".
    if isinstance(value, list):
        return "[" + " ".join(str(item) for item in value) + "]"
    return str(value)


def _json_response(status: int, payload: Any) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(payload),
        "isBase64Encoded": False,
    }
