"""Worker heartbeats: each process running the dispatcher says, every few seconds, that it is
alive."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.models.base import Base, UTCDateTime


class WorkerHeartbeat(Base):
    """One dispatcher process ("host:pid"), when it started and when it was last seen working."""

    __tablename__ = "worker_heartbeats"

    name: so.Mapped[str] = so.mapped_column(sa.String(200), primary_key=True)
    started_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    last_seen: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
