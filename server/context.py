"""The services one server process runs, built once from settings and shared."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog

from recorder.controller import Recorder
from recorder.storage import Storage, open_storage
from server.archiving import ArchivingPipeline
from server.audit import AuditLog
from server.auth.challenges import Challenges, ChallengeStore
from server.auth.keys import KeyRing
from server.auth.redis_challenges import RedisChallengeStore
from server.auth.redis_revocations import RevocationFeed
from server.auth.revocation import RevocationList
from server.auth.tokens import TokenIssuer, TokenVerifier
from server.courts import CourtHierarchy
from server.db.database import Database
from server.directory import CourtDirectory
from server.eds import CrlStore, EdsVerifier
from server.facilities import FacilityService
from server.hearing_feed import HearingFeed
from server.hearings import Hearing, HearingRegistry
from server.invitations import InvitationService
from server.mix_jobs import MixJobs, MixWorker
from server.notify import LogNotifier, Notifier
from server.placement import LocalPlacement, Placement
from server.playback import PlaybackTokens
from server.procedure.presence import PresenceRegistry
from server.procedure.protocol import HearingProtocol
from server.procedure.states import StateAct
from server.recording_access import RecordingAccess
from server.recordings import RecordingCatalog
from server.redis_client import close_client, connect
from server.settings import Settings
from server.sfu.room import Sfu

log = structlog.get_logger(__name__)


@dataclass
class ServerContext:
    settings: Settings
    keys: KeyRing
    revocations: RevocationList
    issuer: TokenIssuer
    verifier: TokenVerifier
    hearings: HearingRegistry
    sfu: Sfu
    db: Database
    directory: CourtDirectory
    challenges: Challenges
    invitations: InvitationService
    facilities: FacilityService
    protocol: HearingProtocol
    presence: PresenceRegistry
    notifier: Notifier
    eds: EdsVerifier | None  # None until trust anchors are configured: EDS login is off
    crls: CrlStore
    # Serving sealed recordings (docs/recording.md, "Serving and the audit log").
    archive: Storage
    recordings: RecordingCatalog
    courts: CourtHierarchy
    recording_access: RecordingAccess
    playback: PlaybackTokens
    audit: AuditLog
    recorder: Recorder
    archiving: ArchivingPipeline
    # Which node serves which hearing (several nodes; in-process: all of them, here).
    placement: Placement | LocalPlacement
    # Several nodes (TYNDAU_REDIS_URL): revocations heard from, and told to, the others.
    revocation_feed: RevocationFeed | None = None
    # ... and the hearings and seats they write, read back into this node's memory.
    hearing_feed: HearingFeed | None = None
    # ... and archiving jobs: queued on a shared stream, one consumer here (server/mix_jobs.py).
    mix_worker: MixWorker | None = None
    _background: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.placement.acquired_listeners.append(self._hearing_acquired)
        self.placement.moved_listeners.append(self._hearing_moved)
        self.hearings.state_listeners.append(self._hearing_state_changed)

    async def _hearing_acquired(
        self, hearing_id: str, previous: str | None, previous_seen_at: datetime | None
    ) -> None:
        """This node serves the hearing from now on: its state as stored, its recording on."""
        await self.hearings.refresh(hearing_id)
        if previous is None:
            # Placed for the first time (or after every node and Redis lost it): nothing
            # failed; a hearing in session is captured on as after a restart.
            self.recorder.resume(hearing_id, datetime.now(UTC))
            return
        await self.recorder.take_over(hearing_id, datetime.now(UTC), previous, previous_seen_at)

    async def _hearing_moved(self, hearing_id: str, node: str) -> None:
        """Another node serves it now (signaling closes its connections here)."""
        await self.recorder.release(hearing_id)

    async def _hearing_state_changed(self, hearing: Hearing, act: StateAct, at: datetime) -> None:
        if act is StateAct.CLOSE:  # no node serves a closed hearing
            await self.placement.release(hearing.id)

    async def start(self) -> None:
        """Bring up what needs the event loop: the database schema, CRL refreshes."""
        await self.db.upgrade()
        await self.revocations.load()
        if self.revocation_feed is not None:
            self.revocation_feed.start()
        await self.hearings.load()
        if self.hearing_feed is not None:
            self.hearing_feed.start()
        await self.placement.start()  # before the recorder: it resumes only our hearings
        await self.recorder.start(owns=self.placement.owns)
        await self.archiving.start()
        if self.mix_worker is not None:
            self.mix_worker.start()
        if not self.settings.eds_trust_anchors:
            log.warning("eds_login_disabled", reason="no TYNDAU_EDS_TRUST_ANCHORS configured")
        if self.settings.eds_crl_urls or self.settings.eds_crl_files:
            self._background.append(
                asyncio.create_task(
                    self.crls.refresh_forever(self.settings.eds_crl_refresh_seconds)
                )
            )

    async def stop(self) -> None:
        for task in self._background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.mix_worker is not None:
            await self.mix_worker.stop()  # its job is taken by another worker after the lease
        await self.archiving.stop()  # a job cut short is run again at the next start
        if self.archiving.jobs is not None:
            await close_client(self.archiving.jobs.redis)
        await self.recorder.stop()  # closes open segments while the database is still there
        # Out of the registry once our captures are closed: the others take our hearings now.
        await self.placement.stop()
        await self.sfu.close()
        await self.archive.close()
        if self.revocation_feed is not None:
            await self.revocation_feed.stop()
        if self.hearing_feed is not None:
            await self.hearing_feed.stop()
        await self.challenges.close()
        await self.db.close()

    @classmethod
    def build(cls, settings: Settings, keys: KeyRing | None = None) -> ServerContext:
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        keys = keys or KeyRing.load_or_create(settings.data_dir / "keys")
        db = Database(settings.effective_database_url)
        revocations = RevocationList(db)
        directory = CourtDirectory(db)
        crls = CrlStore(settings.eds_crl_files, settings.eds_crl_urls)
        eds = (
            EdsVerifier(
                [path.read_bytes() for path in settings.eds_trust_anchors],
                intermediates=[path.read_bytes() for path in settings.eds_intermediates],
                crls=crls,
                require_revocation_check=settings.eds_require_revocation_check,
            )
            if settings.eds_trust_anchors
            else None
        )
        hearings = HearingRegistry(db)
        courts = CourtHierarchy(db)
        protocol = HearingProtocol(db, offset_clock=hearings.recording_offset)
        sfu = Sfu(settings)
        presence = PresenceRegistry()
        issuer = TokenIssuer.for_settings(keys, settings)
        archive = open_storage(
            settings.archive_url,
            data_dir=settings.data_dir,
            s3_endpoint=settings.archive_s3_endpoint,
        )
        recordings = RecordingCatalog(db)
        recorder = Recorder(
            recordings_dir=settings.effective_recordings_dir,
            segment_seconds=settings.recording_segment_seconds,
            enabled=settings.recording_enabled,
            sfu=sfu,
            hearings=hearings,
            protocol=protocol,
            participant_info=presence.participant_info,
            node_id=settings.node_id,
        )
        archiving = ArchivingPipeline(
            recordings_dir=settings.effective_recordings_dir,
            keys_dir=settings.data_dir / "keys",
            court_timezone=settings.court_timezone,
            hearings=hearings,
            protocol=protocol,
            storage=archive,
            catalog=recordings,
            enabled=settings.recording_enabled and settings.archive_on_close,
        )
        recorder.finished_listeners.append(archiving.capture_finished)
        mix_worker = None
        if settings.redis_url and archiving.enabled:
            redis = connect(settings.redis_url)
            archiving.jobs = MixJobs(redis)
            archiving.worker_id = settings.node_id
            if settings.mix_worker_in_node:
                mix_worker = MixWorker(
                    redis,
                    archiving,
                    consumer=settings.node_id,
                    lease_seconds=settings.mix_job_lease_seconds,
                )
        return cls(
            settings=settings,
            keys=keys,
            revocations=revocations,
            issuer=issuer,
            verifier=TokenVerifier(
                keys=keys,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                revocations=revocations,
                leeway_seconds=settings.jwt_leeway_seconds,
                session_audience=settings.jwt_session_audience,
            ),
            hearings=hearings,
            sfu=sfu,
            db=db,
            directory=directory,
            challenges=_challenges(settings),
            invitations=InvitationService(db, hearings, issuer, revocations),
            facilities=FacilityService(db, directory, hearings, issuer, revocations, protocol),
            protocol=protocol,
            presence=presence,
            notifier=LogNotifier(),
            eds=eds,
            crls=crls,
            archive=archive,
            recordings=recordings,
            courts=courts,
            recording_access=RecordingAccess(directory, hearings, courts),
            playback=PlaybackTokens(keys=keys, issuer=settings.jwt_issuer, revocations=revocations),
            audit=AuditLog(db),
            recorder=recorder,
            archiving=archiving,
            placement=Placement(settings, sfu) if settings.redis_url else LocalPlacement(settings),
            revocation_feed=(
                RevocationFeed(revocations, settings.redis_url) if settings.redis_url else None
            ),
            hearing_feed=HearingFeed(hearings, settings.redis_url) if settings.redis_url else None,
            mix_worker=mix_worker,
        )


def _challenges(settings: Settings) -> Challenges:
    """In-process by default; in Redis when several nodes must share them."""
    if settings.redis_url:
        return RedisChallengeStore(settings.redis_url, ttl_seconds=settings.challenge_ttl_seconds)
    return ChallengeStore(ttl_seconds=settings.challenge_ttl_seconds)
