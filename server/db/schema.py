"""The database schema (SQLAlchemy ORM). Migrations in ``migrations/`` create it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """A stored time as an aware UTC datetime (SQLite hands timezone columns back naive)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A moment, stored in UTC on every database.

    SQLite keeps no offset: ``10:00+05:00`` would be stored as ``10:00`` and
    read back as 10:00 UTC, five hours off, and compared as clock time. So a
    time is converted to UTC before it is stored or compared, and a naive time
    (whose zone nobody knows) is refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a naive datetime cannot be stored: give it a time zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value).astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class CourtUser(Base):
    """A person the court knows: staff rights come only from here, never from a certificate."""

    __tablename__ = "court_users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    iin: Mapped[str] = mapped_column(String(12), unique=True, index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    court: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lawyer_licence: Mapped[str | None] = mapped_column(String(64), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class InvitationRow(Base):
    """A link that lets one person into one hearing in one role, within a window."""

    __tablename__ = "invitations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    hearing_id: Mapped[str] = mapped_column(String(128), index=True)
    role: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    iin: Mapped[str | None] = mapped_column(String(12), nullable=True)
    contact: Mapped[str | None] = mapped_column(Text, nullable=True)
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime())
    valid_until: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    redeemed_count: Mapped[int] = mapped_column(default=0)


class FacilityEndpointRow(Base):
    """A video unit in a detention facility; the kiosk holds a secret, only its hash is here."""

    __tablename__ = "facility_endpoints"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    facility: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class DetaineeSessionRow(Base):
    """A detainee put in front of a unit for one hearing, as attested by a facility officer."""

    __tablename__ = "detainee_sessions"
    # One running session per unit, enforced by the database: two officers
    # starting at the same moment cannot both succeed.
    __table_args__ = (
        Index(
            "uq_detainee_sessions_running",
            "endpoint_id",
            unique=True,
            postgresql_where=text("ended_at IS NULL"),
            sqlite_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(String(32), index=True)
    hearing_id: Mapped[str] = mapped_column(String(128), index=True)
    detainee_name: Mapped[str] = mapped_column(String(200))
    detainee_iin: Mapped[str | None] = mapped_column(String(12), nullable=True)
    # The detainee's seat in the hearing, which their lawyer's seat may name.
    seat_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    attested_by_user: Mapped[str] = mapped_column(String(128))
    attested_by_name: Mapped[str] = mapped_column(String(200))
    attested_by_iin: Mapped[str] = mapped_column(String(12))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class RevocationRow(Base):
    """A revoked token id (``kind`` token) or participant of a hearing (``kind`` participant)."""

    __tablename__ = "revocations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    hearing_id: Mapped[str] = mapped_column(String(128), default="")
    subject: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class HearingEventRow(Base):
    """One entry of a hearing's protocol: append-only, in order, never edited."""

    __tablename__ = "hearing_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hearing_id: Mapped[str] = mapped_column(String(128), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    kind: Mapped[str] = mapped_column(String(48))
    actor_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    actor_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    actor_role: Mapped[str | None] = mapped_column(String(32), nullable=True)
    subject_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    subject_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    details: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    # Seconds into the hearing's recording (recesses excluded); None before the session.
    recording_offset: Mapped[float | None] = mapped_column(Float, nullable=True)


class CaseRow(Base):
    """A court case; its number (``7599-23-00-1/1234``) is a label, never a key or a path."""

    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("court", "case_number"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_number: Mapped[str] = mapped_column(String(64), index=True)
    court: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class HearingRow(Base):
    """A hearing of a case: what it is, when, who presides, and where its state stands."""

    __tablename__ = "hearings"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32))
    is_open: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(16), index=True)
    court: Mapped[str] = mapped_column(String(200), default="")
    judge_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    secretary_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    scheduled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True, index=True)
    language: Mapped[str] = mapped_column(String(2))
    auto_admit: Mapped[bool] = mapped_column(Boolean, default=False)
    state_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    in_session_since: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    recorded_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    created_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class SeatRow(Base):
    """A place the court gave one person in one hearing, with their procedural role."""

    __tablename__ = "hearing_seats"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    hearing_id: Mapped[str] = mapped_column(ForeignKey("hearings.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    iin: Mapped[str | None] = mapped_column(String(12), nullable=True, index=True)
    user_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    represents: Mapped[str | None] = mapped_column(String(128), nullable=True)
    interprets_for: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class CourtRow(Base):
    """A court and the court of the next higher instance (appeal, cassation) above it."""

    __tablename__ = "courts"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    higher: Mapped[str | None] = mapped_column(ForeignKey("courts.name"), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class RecordingRow(Base):
    """A sealed, verified archive of one hearing: where it is and what it holds."""

    __tablename__ = "recordings"

    hearing_id: Mapped[str] = mapped_column(ForeignKey("hearings.id"), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    # The archive's folder on the archive storage (``<case>/<hearing_id>``).
    folder: Mapped[str] = mapped_column(String(300))
    sealed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    duration_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    # {name: {"size": int, "sha256": str}} as the signed manifest lists them.
    files: Mapped[dict[str, dict[str, object]]] = mapped_column(JSON, default=dict)
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class AuditEntryRow(Base):
    """One access to recordings: append-only, each entry hashed with the one before."""

    __tablename__ = "recording_audit"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    user_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    iin: Mapped[str | None] = mapped_column(String(12), nullable=True)
    action: Mapped[str] = mapped_column(String(16))
    # Why access was granted (participant, court, higher_instance, archivist) or refused.
    reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    case_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    hearing_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    file: Mapped[str | None] = mapped_column(String(300), nullable=True)
    remote: Mapped[str | None] = mapped_column(String(64), nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
