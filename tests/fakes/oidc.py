"""A fake OpenID Connect provider on 127.0.0.1: discovery, JWKS, an authorization endpoint that
signs in whoever the test says, and a token endpoint that checks PKCE and the client's secret."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus, urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.fakes.server import FakeServer, Recorded, Reply

CLIENT_ID = "sms-desk"
CLIENT_SECRET = "fake-client-secret"
REMOVE = object()  # as a value in `overrides`: leave that claim out of the token


def rsa_key(kid: str) -> RSAKey:
    """A fresh 2048-bit RSA signing key with this key id."""
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str | None
    claims: dict[str, Any]


class FakeOpenIDProvider(FakeServer):
    """The provider. The test sets `claims` (who signs in next: sub, email, groups…), and may
    set `overrides` (claims to change in the ID token, REMOVE to drop one), `signing_key` (sign
    with a key other than the published one) and `published` (the keys the JWKS lists)."""

    def __init__(self, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET) -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.key = rsa_key("fake-key-1")
        self.published: list[RSAKey] = [self.key]
        self.signing_key: RSAKey = self.key
        self.claims: dict[str, Any] = {"sub": "user-1", "email": "user@example.com"}
        self.overrides: dict[str, Any] = {}
        self.token_lifetime = 300
        self._grants: dict[str, _Grant] = {}
        self._grants_lock = threading.Lock()

    @property
    def issuer(self) -> str:
        return self.url

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "email", "profile"],
        }

    def requests_to(self, path: str) -> list[Recorded]:
        return [request for request in self.requests if request.path == path]

    def respond(self, request: Recorded) -> Reply:
        if request.method == "GET" and request.path == "/.well-known/openid-configuration":
            return _json(self.metadata())
        if request.method == "GET" and request.path == "/jwks":
            return _json({"keys": [key.as_dict(private=False) for key in self.published]})
        if request.method == "GET" and request.path == "/authorize":
            return self._authorize(request.query)
        if request.method == "POST" and request.path == "/token":
            return self._token(request)
        return _json({"error": "not_found"}, 404)

    def _authorize(self, query: Mapping[str, str]) -> Reply:
        """Sign in `claims` at once (no login form) and send the browser back with a code."""
        problems = [
            name
            for name, ok in (
                ("client_id", query.get("client_id") == self.client_id),
                ("response_type", query.get("response_type") == "code"),
                ("scope", "openid" in (query.get("scope") or "").split()),
                ("code_challenge_method", query.get("code_challenge_method") == "S256"),
                ("code_challenge", bool(query.get("code_challenge"))),
                ("redirect_uri", bool(query.get("redirect_uri"))),
                ("state", bool(query.get("state"))),
            )
            if not ok
        ]
        if problems:
            return _json({"error": "invalid_request", "error_description": problems}, 400)
        code = secrets.token_urlsafe(24)
        with self._grants_lock:
            self._grants[code] = _Grant(
                client_id=query["client_id"],
                redirect_uri=query["redirect_uri"],
                challenge=query["code_challenge"],
                nonce=query.get("nonce"),
                claims=dict(self.claims),
            )
        back = query["redirect_uri"] + "?" + urlencode({"code": code, "state": query["state"]})
        return Reply(302, "", headers={"Location": back})

    def _token(self, request: Recorded) -> Reply:
        form = request.form
        client_id, secret = _client_credentials(request)
        if client_id != self.client_id or secret != self.client_secret:
            return _json({"error": "invalid_client"}, 401)
        with self._grants_lock:
            grant = self._grants.pop(form.get("code", ""), None)  # a code works once
        if form.get("grant_type") != "authorization_code" or grant is None:
            return _json({"error": "invalid_grant"}, 400)
        verifier = form.get("code_verifier", "")
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if challenge != grant.challenge or form.get("redirect_uri") != grant.redirect_uri:
            return _json({"error": "invalid_grant", "error_description": "PKCE or redirect"}, 400)
        access_token = secrets.token_urlsafe(24)
        return _json(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": self.id_token(grant.claims, grant.nonce),
            }
        )

    def id_token(self, claims: Mapping[str, Any], nonce: str | None) -> str:
        """An ID token for `claims` as this provider issues it, with the test's overrides."""
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "iat": now,
            "exp": now + self.token_lifetime,
            **({"nonce": nonce} if nonce else {}),
            **claims,
        }
        for name, value in self.overrides.items():
            if value is REMOVE:
                payload.pop(name, None)
            else:
                payload[name] = value
        header = {"alg": "RS256", "kid": self.signing_key.kid, "typ": "JWT"}
        return jwt.encode(header, payload, self.signing_key)


def _client_credentials(request: Recorded) -> tuple[str | None, str | None]:
    """The client id and secret, from HTTP Basic (client_secret_basic) or the form."""
    authorization = request.headers.get("Authorization") or ""
    if authorization.startswith("Basic "):
        decoded = base64.b64decode(authorization[6:]).decode()
        client_id, _, secret = decoded.partition(":")
        # RFC 6749, 2.3.1: both are form-encoded before they are joined.
        return unquote_plus(client_id), unquote_plus(secret)
    return request.form.get("client_id"), request.form.get("client_secret")


def _json(data: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(data), content_type="application/json")
