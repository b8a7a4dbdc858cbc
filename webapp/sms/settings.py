"""SMS settings kept in the database (changed on the admin page), falling back to the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.models import BlockedRegion, Setting
from webapp.sms.replies import ReplySettings

DEFAULT_COMMENT_TYPES = ("SMS",)


@dataclass(frozen=True)
class SmsSettings:
    suppress_add_comment: bool
    comment_types: tuple[str, ...]
    default_region: str
    originator: str
    unmatched_reply_address: str


def load(session: so.Session, config: Mapping[str, Any]) -> SmsSettings:
    stored = {row.key: row.value for row in session.scalars(sa.select(Setting))}
    return SmsSettings(
        suppress_add_comment=bool(stored.get("suppress_add_comment", False)),
        comment_types=tuple(stored.get("comment_types") or DEFAULT_COMMENT_TYPES),
        default_region=stored.get("default_region") or config.get("SMS_DEFAULT_REGION", "AU"),
        originator=stored.get("originator") or config.get("SMSCENTRAL_ORIGINATOR", ""),
        unmatched_reply_address=stored.get("unmatched_reply_address") or config.get("MAIL_FROM", ""),
    )


def blocked_list_provider(provider: str) -> str:
    """Whose blocked list applies: the sandbox behaves like SMS Central, the default gateway."""
    return "smscentral" if provider == "sandbox" else provider


def blocked_regions(session: so.Session, provider: str) -> frozenset[str]:
    """Region codes the configured gateway will not deliver to."""
    owner = blocked_list_provider(provider)
    return frozenset(session.scalars(
        sa.select(BlockedRegion.region).where(BlockedRegion.provider == owner)))


def blocked_region_names(session: so.Session, provider: str) -> dict[str, str]:
    owner = blocked_list_provider(provider)
    return dict(session.execute(
        sa.select(BlockedRegion.region, BlockedRegion.name).where(BlockedRegion.provider == owner)
    ).all())


def reply_settings(session: so.Session, config: Mapping[str, Any]) -> ReplySettings:
    """What inbound handling needs: the parse region, link base and the unmatched inbox address."""
    sms = load(session, config)
    return ReplySettings(default_region=sms.default_region,
                         public_base_url=config.get("PUBLIC_BASE_URL", ""),
                         unmatched_reply_address=sms.unmatched_reply_address)
