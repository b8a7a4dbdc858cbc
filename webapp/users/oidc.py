"""Single sign-on through an OpenID Connect provider: its settings, the authorization code flow
with PKCE, every check on the ID token, and the user a verified token signs in."""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
import sqlalchemy as sa
import sqlalchemy.orm as so
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from webapp.models.activity import audit
from webapp.models.base import utcnow
from webapp.models.users import ROLES, Role, User
from webapp.text import is_blank, visible
from webapp.users import sessions as user_sessions

DEFAULT_ROLE_CLAIM = "groups"
DEFAULT_NAME = "single sign-on"
SCOPE = "openid email profile"
# Discovery and keys are fetched once an hour at most; an unknown key id refetches the keys.
CACHE_SECONDS = 3600
TIMEOUT_SECONDS = 10
# Clock skew allowed between us and the provider, and how old an ID token may be: it is issued
# by the token request we have just made, so anything older was not made for this sign-in.
LEEWAY_SECONDS = 60
MAX_TOKEN_AGE_SECONDS = 600
# Asymmetric algorithms only: "none" and HMAC (keyed with the client secret) are never accepted.
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")
# A password hash no password matches (werkzeug finds no method in it), for users SSO created.
UNUSABLE_PASSWORD_PREFIX = "!sso:"
USERNAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._@-]+")


# --- settings ------------------------------------------------------------------------------------


def parse_role_map(text: str) -> dict[str, str]:
    """`group=role,group=role` as {group: role}; ValueError, saying what is wrong, on any flaw.

    Strict because a typo here silently gives or withholds access: every pair needs both sides,
    a group appears once, and each role is one SMS Desk has.
    """
    mapping: dict[str, str] = {}
    for number, pair in enumerate(text.split(","), start=1):
        if not pair.strip():
            if text.strip():
                raise ValueError(f"pair {number} is empty (a stray comma?)")
            continue
        group, equals, role = (part.strip() for part in pair.partition("="))
        if not equals or not group or not role:
            raise ValueError(f"{pair.strip()!r} is not group=role")
        if role not in ROLES:
            raise ValueError(f"{role!r} is not a role; the roles are {', '.join(ROLES)}")
        if group in mapping:
            raise ValueError(f"the group {group!r} is mapped twice")
        mapping[group] = role
    return mapping


def issuer_problem(issuer: str) -> str | None:
    """Why `issuer` cannot be an OpenID issuer URL, or None."""
    parts = urlsplit(issuer)
    if not parts.netloc or parts.query or parts.fragment:
        return f"{issuer!r} is not an issuer URL like https://login.example.com/realms/staff"
    # Tokens and keys must not travel in clear text; loopback (a provider on this host) aside.
    if parts.scheme != "https" and not (
        parts.scheme == "http" and parts.hostname in {"127.0.0.1", "localhost", "::1"}
    ):
        return f"{issuer!r} must start with https://"
    return None


@dataclass(frozen=True)
class Settings:
    """What the environment says about the provider (OIDC_* in docs/configuration.md)."""

    issuer: str
    client_id: str
    client_secret: str = ""
    name: str = DEFAULT_NAME
    role_claim: str = DEFAULT_ROLE_CLAIM
    role_map: Mapping[str, str] = field(default_factory=dict)
    create_users: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings | None:
        """The settings in an app's config, or None when single sign-on is not set up."""
        if not config.get("OIDC_ISSUER"):
            return None
        return cls(
            issuer=config["OIDC_ISSUER"],
            client_id=config["OIDC_CLIENT_ID"],
            client_secret=config.get("OIDC_CLIENT_SECRET", ""),
            name=config.get("OIDC_NAME") or DEFAULT_NAME,
            role_claim=config.get("OIDC_ROLE_CLAIM") or DEFAULT_ROLE_CLAIM,
            role_map=dict(config.get("OIDC_ROLE_MAP") or {}),
            create_users=bool(config.get("OIDC_CREATE_USERS")),
        )


# --- refusals ------------------------------------------------------------------------------------


class Refused(Exception):
    """A sign-in refused: `reason` is a short code for the audit log, `message` is for the user.

    `subject` and `issuer` are the token's sub and iss when one was read (nothing else of it is
    kept: the audit log is no place for the token's personal data).
    """

    def __init__(self, reason: str, message: str, subject: str | None = None, issuer: str = ""):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.subject = subject
        self.issuer = issuer


class ProviderUnavailable(Exception):
    """The provider could not be reached (503) or answered nonsense (502)."""

    def __init__(self, message: str, status: int = 503):
        super().__init__(message)
        self.message = message
        self.status = status


NOT_VERIFIED = "The sign-in could not be verified, so it was refused."
CLAIM_REASONS = {
    "iss": "issuer",
    "aud": "audience",
    "azp": "audience",
    "nonce": "nonce",
    "iat": "issued_at",
    "nbf": "not_yet_valid",
    "exp": "expired",
    "sub": "subject",
    "at_hash": "access_token_hash",
}


# --- the provider --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pending:
    """A sign-in sent to the provider: what the callback must see again (kept in the session)."""

    state: str
    nonce: str
    code_verifier: str
    next_path: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "state": self.state,
            "nonce": self.nonce,
            "code_verifier": self.code_verifier,
            "next_path": self.next_path,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Pending | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls(data["state"], data["nonce"], data["code_verifier"], data.get("next_path"))
        except KeyError:
            return None


class Provider:
    """The OpenID provider: discovery and keys fetched on demand and cached, the code flow."""

    def __init__(self, settings: Settings, *, clock=time.time) -> None:
        self.settings = settings
        self._clock = clock
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: dict[str, Any] | None = None
        self._keys_at = 0.0
        self._http = requests.Session()

    @property
    def discovery_url(self) -> str:
        return self.settings.issuer.rstrip("/") + "/.well-known/openid-configuration"

    def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (cached for CACHE_SECONDS)."""
        with self._lock:
            fresh = self._clock() - self._metadata_at < CACHE_SECONDS
            if self._metadata is not None and fresh:
                return self._metadata
        metadata = self._get_json(self.discovery_url)
        needed = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
        if any(not isinstance(metadata.get(name), str) for name in needed):
            raise ProviderUnavailable(self._broken("its discovery document is incomplete"), 502)
        # OpenID Connect Discovery 1.0, 4.3: the document must name the issuer we asked.
        if metadata["issuer"] != self.settings.issuer:
            raise ProviderUnavailable(
                self._broken("its discovery document names another issuer"), 502
            )
        with self._lock:
            self._metadata, self._metadata_at = metadata, self._clock()
        return metadata

    def origins(self) -> list[str]:
        """Where the browser goes to sign in: the issuer's origin, and the authorization
        endpoint's once discovery has named it (a page's CSP form-action must list them)."""
        with self._lock:
            metadata = self._metadata or {}
        found: list[str] = []
        for url in (self.settings.issuer, metadata.get("authorization_endpoint")):
            parts = urlsplit(url) if isinstance(url, str) else None
            if parts and parts.scheme in {"http", "https"} and parts.netloc:
                origin = f"{parts.scheme}://{parts.netloc}"
                if origin not in found:
                    found.append(origin)
        return found

    def keys(self, *, refresh: bool = False) -> KeySet:
        """The provider's signing keys (JWKS), cached; `refresh` fetches them again."""
        with self._lock:
            fresh = self._clock() - self._keys_at < CACHE_SECONDS
            cached = self._keys if (fresh and not refresh) else None
        if cached is None:
            cached = self._get_json(self.metadata()["jwks_uri"])
            with self._lock:
                self._keys, self._keys_at = cached, self._clock()
        try:
            return KeySet.import_key_set(cached)
        except (JoseError, ValueError, KeyError, TypeError):
            raise ProviderUnavailable(
                self._broken("its signing keys cannot be read"), 502
            ) from None

    def start(self, redirect_uri: str, next_path: str | None = None) -> tuple[str, Pending]:
        """The provider's authorization URL for a new sign-in, and what to keep until it returns."""
        metadata = self.metadata()
        pending = Pending(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            # RFC 7636: 43 to 128 characters; 64 bytes give 86.
            code_verifier=secrets.token_urlsafe(64),
            next_path=next_path,
        )
        with self._client(redirect_uri) as client:
            url, _state = client.create_authorization_url(
                metadata["authorization_endpoint"],
                state=pending.state,
                nonce=pending.nonce,
                code_verifier=pending.code_verifier,
            )
        return url, pending

    def finish(
        self, pending: Pending | None, answer: Mapping[str, str], redirect_uri: str
    ) -> dict[str, Any]:
        """The verified claims of the ID token the provider's `answer` (the callback's query)
        leads to; Refused when any check fails."""
        state = answer.get("state") or ""
        if pending is None or not secrets.compare_digest(state.encode(), pending.state.encode()):
            raise Refused("state", "This sign-in was not started here, or was started twice.")
        if answer.get("error"):
            raise Refused(
                f"provider_error:{answer['error'][:40]}",
                "The sign-in service did not sign you in.",
            )
        code = answer.get("code")
        if not code:
            raise Refused("no_code", NOT_VERIFIED)
        metadata = self.metadata()
        try:
            with self._client(redirect_uri) as client:
                token = client.fetch_token(
                    metadata["token_endpoint"],
                    code=code,
                    code_verifier=pending.code_verifier,
                    timeout=TIMEOUT_SECONDS,
                )
        except requests.HTTPError as error:
            if error.response is not None and error.response.status_code < 500:
                raise Refused("token_request", NOT_VERIFIED) from None
            raise ProviderUnavailable(self._down()) from None
        except requests.RequestException:
            raise ProviderUnavailable(self._down()) from None
        except (AuthlibBaseError, ValueError):
            # The provider refused the code (used, expired, or a PKCE or client mismatch).
            raise Refused("token_request", NOT_VERIFIED) from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise Refused("no_id_token", NOT_VERIFIED)
        return self.verify(id_token, pending.nonce, token.get("access_token"))

    def verify(self, id_token: str, nonce: str, access_token: str | None = None) -> dict[str, Any]:
        """The claims of `id_token` once its signature, issuer, audience, times and nonce hold."""
        settings = self.settings
        algorithms = [
            name
            for name in self.metadata().get(
                "id_token_signing_alg_values_supported", SIGNING_ALGORITHMS
            )
            if name in SIGNING_ALGORITHMS
        ] or ["RS256"]
        registry = JWSRegistry(algorithms=algorithms)
        try:
            try:
                decoded = jwt.decode(id_token, self.keys(), registry=registry)
            except InvalidKeyIdError:
                # The provider may have rotated its keys since we fetched them: look once more.
                decoded = jwt.decode(id_token, self.keys(refresh=True), registry=registry)
        except InvalidKeyIdError:
            raise Refused("unknown_key", NOT_VERIFIED) from None
        except BadSignatureError:
            raise Refused("signature", NOT_VERIFIED) from None
        except (ValueError, JoseError):
            raise Refused("malformed", NOT_VERIFIED) from None
        claims = decoded.claims
        subject = claims.get("sub") if isinstance(claims.get("sub"), str) else None
        issuer = claims.get("iss") if isinstance(claims.get("iss"), str) else ""
        options = {
            "iss": {"essential": True, "value": settings.issuer},
            "aud": {"essential": True, "value": settings.client_id},
            "sub": {"essential": True},
        }
        params = {"nonce": nonce, "client_id": settings.client_id, "access_token": access_token}
        now = int(self._clock())
        try:
            CodeIDToken(claims, decoded.header, options, params).validate(
                now=now, leeway=LEEWAY_SECONDS
            )
        except ExpiredTokenError:
            raise Refused("expired", NOT_VERIFIED, subject, issuer) from None
        except (InvalidClaimError, MissingClaimError) as error:
            reason = CLAIM_REASONS.get(str(error.claim), f"claim:{error.claim}"[:40])
            raise Refused(reason, NOT_VERIFIED, subject, issuer) from None
        if now - claims["iat"] > MAX_TOKEN_AGE_SECONDS + LEEWAY_SECONDS:
            raise Refused("issued_at", NOT_VERIFIED, subject, issuer)
        return claims

    def close(self) -> None:
        self._http.close()

    def _client(self, redirect_uri: str) -> OAuth2Session:
        methods = self.metadata().get("token_endpoint_auth_methods_supported") or [
            "client_secret_basic"
        ]
        if not self.settings.client_secret:
            auth_method = "none"  # a public client: PKCE alone binds the code to us
        elif "client_secret_basic" in methods:
            auth_method = "client_secret_basic"
        else:
            auth_method = "client_secret_post"
        return OAuth2Session(
            client_id=self.settings.client_id,
            client_secret=self.settings.client_secret or None,
            scope=SCOPE,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method=auth_method,
        )

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = self._http.get(url, timeout=TIMEOUT_SECONDS)
        except requests.RequestException:
            raise ProviderUnavailable(self._down()) from None
        if response.status_code >= 500:
            raise ProviderUnavailable(self._down())
        try:
            response.raise_for_status()
            data = response.json()
        except (requests.RequestException, ValueError):
            raise ProviderUnavailable(self._broken(f"{url} did not answer JSON"), 502) from None
        if not isinstance(data, dict):
            raise ProviderUnavailable(self._broken(f"{url} did not answer a JSON object"), 502)
        return data

    def _down(self) -> str:
        return (
            f"{self.settings.name} cannot be reached just now. Try again in a few minutes; "
            "if it stays down, ask your IT team."
        )

    def _broken(self, what: str) -> str:
        return (
            f"{self.settings.name} answered in a way SMS Desk cannot use ({what}). "
            "Ask your IT team."
        )


# --- claims to a user ----------------------------------------------------------------------------


def mapped_roles(settings: Settings, claims: Mapping[str, Any]) -> list[str]:
    """The SMS Desk roles the role claim maps to, sorted; [] when none does."""
    value = claims.get(settings.role_claim)
    if isinstance(value, str):
        groups = [value]
    elif isinstance(value, list):
        groups = [group for group in value if isinstance(group, str)]
    else:
        groups = []
    return sorted({settings.role_map[group] for group in groups if group in settings.role_map})


INACTIVE = "Your SMS Desk account is switched off."


def sign_in(session: so.Session, settings: Settings, claims: Mapping[str, Any]) -> User:
    """The user these verified claims sign in: linked by subject, else matched by a verified
    email (verified_email) an administrator set, else created (OIDC_CREATE_USERS); with the
    mapped roles applied. Refused otherwise. Not committed.

    With a role map set, the provider decides the roles on every sign-in, and a user whose
    groups map to no role is refused. Without one, roles are managed in SMS Desk.
    """
    subject, issuer = claims["sub"], claims["iss"]

    def refuse(reason: str, message: str) -> Refused:
        return Refused(reason, message, subject, issuer)

    roles = mapped_roles(settings, claims)
    if settings.role_map and not roles:
        raise refuse(
            "no_role",
            f"Your {settings.name} account is in no group that may use SMS Desk. "
            "Ask an administrator to add you to one.",
        )
    user = session.scalar(sa.select(User).where(User.oidc_subject == subject))
    if user is None:
        user = _match_by_email(session, settings, verified_email(claims), refuse)
    if user is None:
        if not settings.create_users:
            raise refuse(
                "no_account",
                "There is no SMS Desk account for you yet. Ask an administrator to add one "
                "with your email address.",
            )
        user = _create(session, claims, roles)
    elif not user.active:
        raise refuse("inactive", INACTIVE)
    if user.oidc_subject is None:
        user.oidc_subject = subject
        audit(session, user, "auth.sso_linked", user, sub=subject, iss=issuer)
    if user.must_change_password:
        # A temporary password an administrator set: the provider has signed them in instead, so
        # it opens nothing from now on, and they are not held to change a password they may never
        # have been given (an administrator can set them another, as for any account).
        user.password_hash = UNUSABLE_PASSWORD_PREFIX + secrets.token_hex(16)
        user.must_change_password = False
        audit(session, user, "auth.sso_temporary_password_voided", user)
    if roles:
        _apply_roles(session, user, roles)
    return user


def verified_email(claims: Mapping[str, Any]) -> str | None:
    """The token's email address when the provider vouches for it (`email_verified` is the JSON
    true), else None.

    Only such an address may match or make an account: single sign-on skips our two-factor
    sign-in, so an address anyone could put on a provider account (a missing claim, "false",
    "true" as a string) would hand them the account that has it, an administrator's too.
    """
    email = claims.get("email")
    if claims.get("email_verified") is not True or not isinstance(email, str):
        return None
    return email.strip()[:254] or None


def _match_by_email(session, settings, email: str | None, refuse) -> User | None:
    """The one active user with this verified email (any case) as an administrator set it, not
    linked to another subject. When only switched-off accounts have it, one of them not linked to
    another subject, refused as switched off: deactivating someone must not leave the provider to
    make them a new account (or to say they have none).

    An address a user typed on their own Profile (User.email_self_set) matches nobody: anyone
    could type a newcomer's there and have the newcomer's first sign-in link their account, roles
    and all. When such an account would otherwise have been matched, or have stopped a new
    account, the sign-in is refused (`email_unconfirmed`) until an administrator confirms the
    address on the user form; no second account with it is made meanwhile.
    """
    if email is None:
        return None
    users = list(session.scalars(sa.select(User).where(sa.func.lower(User.email) == email.lower())))
    confirmed = _one_by_email(settings, [user for user in users if not user.email_self_set], refuse)
    if confirmed is None and any(
        user.active or user.oidc_subject is None for user in users if user.email_self_set
    ):
        raise refuse(
            "email_unconfirmed",
            "An SMS Desk account has your email address, but its holder typed it on their own "
            f"profile and nobody has confirmed it is theirs, so {settings.name} does not open it. "
            "Ask an administrator: they must check whose account it is before anything is "
            "linked to you.",
        )
    return confirmed


def _one_by_email(settings, users: list[User], refuse) -> User | None:
    """Of `users`, those with the address, the one to link (see _match_by_email), or None."""
    found = [user for user in users if user.active]
    # Not one linked to another subject: someone else's old account, its address given anew.
    if not found and any(user.oidc_subject is None for user in users):
        raise refuse("inactive", INACTIVE)
    if len(found) > 1:
        raise refuse(
            "ambiguous_email",
            "More than one SMS Desk account has your email address. "
            "Ask an administrator to sort it out.",
        )
    if found and found[0].oidc_subject is not None:
        raise refuse(
            "subject_mismatch",
            f"Your SMS Desk account is linked to another {settings.name} account.",
        )
    return found[0] if found else None


def _create(session: so.Session, claims: Mapping[str, Any], roles: list[str]) -> User:
    email = verified_email(claims)
    if email is None:
        raise Refused(
            "no_email",
            "The sign-in service gave no verified email address, so no account was made.",
            claims["sub"],
            claims["iss"],
        )
    username = _free_username(session, claims.get("preferred_username"), email)
    name = claims.get("name")
    # A name of invisible characters alone (a zero-width space) would show nothing wherever the
    # account is named, and one pasted into a name would make every SMS it is merged into Unicode.
    if not isinstance(name, str) or is_blank(name):
        given, family = claims.get("given_name"), claims.get("family_name")
        parts = [part for part in (given, family) if isinstance(part, str) and not is_blank(part)]
        name = " ".join(parts) or username
    user = User(
        username=username,
        full_name=visible(name)[:120],
        email=email,
        active=True,
        must_change_password=False,
        oidc_subject=claims["sub"],
        password_hash=UNUSABLE_PASSWORD_PREFIX + secrets.token_hex(16),
        roles=list(session.scalars(sa.select(Role).where(Role.name.in_(roles)))),
    )
    session.add(user)
    session.flush()
    audit(
        session,
        None,
        "user.created",
        user,
        username=user.username,
        email=user.email,
        roles=roles,
        via="sso",
    )
    return user


def _free_username(session: so.Session, preferred: Any, email: str) -> str:
    """A username from the provider's preferred one (or the email's local part) nobody has."""
    base = preferred if isinstance(preferred, str) and preferred.strip() else email.split("@")[0]
    base = USERNAME_CHARACTERS.sub("-", base.strip()).strip("-")[:56] or "user"
    candidate, number = base, 1
    while session.scalar(
        sa.select(User.id).where(sa.func.lower(User.username) == candidate.lower())
    ):
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def _apply_roles(session: so.Session, user: User, roles: list[str]) -> None:
    """Give the user exactly `roles` (audited when they change; their other sessions end, as
    when an administrator changes roles)."""
    before = sorted(role.name for role in user.roles)
    if before == roles:
        return
    user.roles = list(session.scalars(sa.select(Role).where(Role.name.in_(roles))))
    audit(session, None, "user.edited", user, changes={"roles": [before, roles]}, via="sso")
    session.flush()
    user_sessions.end_all(session, user.id, utcnow())
