"""Server settings: environment variables (``TYNDAU_*``) over an optional TOML file.

Every field has a safe default, so ``tyndau serve`` runs with nothing configured:
embedded state, keys generated in the data directory, loopback only.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from server.db.database import default_url
from server.redis_client import validate_url

NODE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def default_node_id(port: int) -> str:
    """``<hostname>-<port>``, cut to what a node id may hold."""
    host = re.sub(r"[^A-Za-z0-9_.-]", "-", socket.gethostname()) or "node"
    return f"{host[:58]}-{port}"


class IceServer(BaseModel):
    """One STUN/TURN server handed to clients (the browser's RTCIceServer)."""

    urls: list[str]
    username: str | None = None
    credential: str | None = None


class Settings(BaseSettings):
    """The server's configuration."""

    model_config = SettingsConfigDict(env_prefix="TYNDAU_", env_nested_delimiter="__")

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    public_url: str | None = Field(
        None, description="Base URL people reach the server at; used in printed links."
    )
    data_dir: Path = Path("./tyndau-data")

    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"

    database_url: str | None = Field(
        None,
        description="SQLAlchemy async URL; default: SQLite file in the data directory. "
        "PostgreSQL: postgresql+asyncpg://user:pass@host/db",
    )

    redis_url: str | None = Field(
        None,
        # An explicit alias ignores env_prefix: TYNDAU_REDIS_URL wins, the plain
        # REDIS_URL is accepted too, and "redis_url" keeps the TOML key and keyword working.
        validation_alias=AliasChoices("TYNDAU_REDIS_URL", "REDIS_URL", "redis_url"),
        description="redis://host:port/db shared by several nodes (docs/several-nodes.md), "
        "or redis+sentinel://host1:port1,host2:port2/db/service; "
        "default: none, every node keeps its own state in-process",
    )

    # Several nodes (docs/several-nodes.md): this node in the registry, and placement.
    node_id: str = Field(
        "",
        description="This node's name in the registry ([A-Za-z0-9_.-], at most 64); "
        "default: <hostname>-<port>. Unique per node, stable across restarts.",
    )
    node_url: str | None = Field(
        None,
        description="Base URL clients reach THIS node's HTTP and Socket.IO at (sent in "
        "wrong_node redirects), e.g. https://court.example.kz/node/tyndau-1; "
        "default: the base URL (public_url, else http://host:port)",
    )
    node_heartbeat_seconds: float = Field(
        1.0, ge=0.05, le=60, description="How often a node writes its heartbeat and load."
    )
    node_dead_seconds: float = Field(
        3.0,
        ge=0.2,
        le=600,
        description="A node silent this long is dead: its hearings are placed elsewhere. "
        "At least twice the heartbeat.",
    )
    # Measured (bench/README.md): 8 hearings of 4, 32 participants, used 64 % of one
    # 2-vCPU VM core with no loss; more is beyond what one process forwards in time.
    node_max_participants: int = Field(
        32, ge=1, le=100_000, description="Participants a node takes before placement skips it."
    )

    jwt_issuer: str = "tyndau"
    jwt_audience: str = "tyndau-hearing"
    jwt_session_audience: str = "tyndau-session"
    session_ttl_seconds: int = Field(15 * 60, ge=60, le=3600)
    session_max_age_seconds: int = Field(12 * 3600, ge=600, le=7 * 24 * 3600)
    challenge_ttl_seconds: int = Field(120, ge=10, le=600)

    eds_trust_anchors: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="NCA root/intermediate certificates (DER or PEM files) EDS logins chain to.",
    )
    eds_intermediates: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    eds_crl_files: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    eds_crl_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    eds_require_revocation_check: bool = True
    eds_crl_refresh_seconds: int = Field(3600, ge=60, le=7 * 24 * 3600)
    jwt_leeway_seconds: int = Field(30, ge=0, le=300)
    token_ttl_seconds: int = Field(4 * 3600, ge=60, le=24 * 3600)

    max_event_bytes: int = Field(64 * 1024, ge=1024, le=1024 * 1024)
    """Largest accepted Socket.IO event payload; larger ones get ``payload_too_large``."""

    ice_host_addresses: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Local addresses the SFU gathers ICE candidates on; empty = all "
        "non-loopback interfaces. Set to ['127.0.0.1'] for a loopback-only server.",
    )
    ice_servers: list[IceServer] = Field(default_factory=list)
    ice_transport_policy: Literal["all", "relay"] = "all"
    """Sent to clients: ``relay`` makes them use TURN only (a court on a locked-down network)."""

    # TURN with short-lived credentials (server/turn.py, deploy/coturn/).
    turn_secret: SecretStr | None = Field(
        None, description="coturn's static-auth-secret; never logged. Or turn_secret_file."
    )
    turn_secret_file: Path | None = Field(
        None, description="A file holding the secret (systemd LoadCredential, a 0600 file)."
    )
    turn_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="TURN URLs handed out with the credentials, e.g. "
        "turn:turn.court.kz:3478?transport=udp, turns:turn.court.kz:443?transport=tcp",
    )
    turn_ttl_seconds: int = Field(3600, ge=60, le=24 * 3600)
    """Lifetime of a TURN credential; never past the participant's token's expiry."""

    keyframe_interval_seconds: float = Field(1.0, gt=0, le=10)
    """Minimum time between keyframe requests (PLI) sent to one publisher."""

    quality_interval_seconds: float = Field(2.0, gt=0, le=60)
    """How often every participant's connection quality is sampled and sent to the court."""
    reconnect_grace_seconds: float = Field(20.0, gt=0, le=600)
    """How long the court sees a dropped participant as reconnecting before disconnected."""

    recording_enabled: bool = True
    """Capture every hearing in session (docs/recording.md)."""
    recordings_dir: Path | None = None
    """Where captures are written; default: ``<data dir>/recordings``."""
    recording_segment_seconds: float = Field(10.0, ge=1, le=600)
    """A capture segment is closed after this long (at the next keyframe for video)."""

    archive_on_close: bool = True
    """Mix, seal and register a hearing's recording when it closes (then free the capture)."""

    court_timezone: str = "Asia/Almaty"
    """The courts' local time zone: what "today's hearings" means (IANA name)."""

    archive_url: str | None = Field(
        None,
        description="Where sealed archives go: unset = <data dir>/archive, file:///path, "
        "or s3://bucket/prefix (keys from the standard AWS_* variables).",
    )
    archive_s3_endpoint: str | None = Field(
        None, description="URL of a court's S3-compatible server (MinIO, Ceph); unset = AWS."
    )

    # Mixing workers (several nodes, docs/several-nodes.md "Mixing workers"): with
    # TYNDAU_REDIS_URL, archiving jobs go on the stream tyndau:mix-jobs for any worker.
    mix_worker_in_node: bool = Field(
        True,
        description="With Redis: this node also runs one consumer of the mixing stream "
        "(dedicated `tyndau worker` processes add capacity); false: it only queues jobs.",
    )
    mix_job_lease_seconds: float = Field(
        30.0,
        ge=1,
        le=3600,
        description="A job its worker has not renewed for this long (the worker died) "
        "is taken by another worker; renewed every sixth of it while working.",
    )

    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Addresses or networks of reverse proxies whose X-Forwarded-For is "
        "believed (the audit log's client address); empty = the peer's address only.",
    )

    demo: bool = False
    shutdown_timeout_seconds: float = Field(10.0, gt=0, le=120)
    event_loop: Literal["uvloop", "asyncio"] = Field(
        "uvloop",
        description="The server's event loop: uvloop (less CPU per forwarded packet) or "
        "asyncio's own.",
    )

    @field_validator(
        "ice_host_addresses",
        "eds_trust_anchors",
        "eds_intermediates",
        "eds_crl_files",
        "eds_crl_urls",
        "trusted_proxies",
        "turn_urls",
        mode="before",
    )
    @classmethod
    def _split_comma_list(cls, value: Any) -> Any:
        """Lists come from the environment as comma-separated values."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: list[str]) -> list[str]:
        for proxy in value:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError as exc:
                raise ValueError(f"not an address or network: {proxy!r}") from exc
        return value

    @field_validator("turn_urls")
    @classmethod
    def _turn_urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(("turn:", "turns:")):
                raise ValueError(f"not a turn: or turns: URL: {url!r}")
        return value

    @model_validator(mode="after")
    def _turn_consistent(self) -> Settings:
        if self.turn_secret is None and self.turn_secret_file is not None:
            try:
                secret = self.turn_secret_file.read_text().strip()
            except OSError as exc:
                raise ValueError(f"turn_secret_file: {exc.strerror}") from exc
            if not secret:
                raise ValueError("turn_secret_file is empty")
            self.turn_secret = SecretStr(secret)
        if self.turn_urls and self.turn_secret is None:
            raise ValueError("turn_urls need turn_secret (or turn_secret_file)")
        has_turn = bool(self.turn_urls) or any(
            url.startswith(("turn:", "turns:")) for s in self.ice_servers for url in s.urls
        )
        if self.ice_transport_policy == "relay" and not has_turn:
            # Relay-only with no TURN server means no media for anyone.
            raise ValueError("ice_transport_policy 'relay' needs a TURN server (turn_urls)")
        return self

    @field_validator("node_id")
    @classmethod
    def _node_id(cls, value: str) -> str:
        if value and not NODE_ID.match(value):
            raise ValueError("a node id is 1-64 of A-Z a-z 0-9 _ . -")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        return validate_url(value) if value else value

    @field_validator("node_url")
    @classmethod
    def _node_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"not an http:// or https:// URL: {value!r}")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _node_defaults(self) -> Settings:
        if self.node_dead_seconds < 2 * self.node_heartbeat_seconds:
            # One late heartbeat must not make a live node look dead.
            raise ValueError("node_dead_seconds must be at least twice node_heartbeat_seconds")
        # Written past pydantic's bookkeeping, so they do not count as "set": Settings.load
        # merges what was set, and the port or public URL they derive from may come later.
        if not self.node_id:
            self.__dict__["node_id"] = default_node_id(self.port)
        if self.node_url is None:
            self.__dict__["node_url"] = self.base_url
        return self

    @field_validator("court_timezone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def effective_database_url(self) -> str:
        return self.database_url or default_url(self.data_dir)

    @property
    def effective_recordings_dir(self) -> Path:
        return self.recordings_dir or self.data_dir / "recordings"

    @property
    def base_url(self) -> str:
        """URL that links printed for people should start with."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.host}:{self.port}"

    @classmethod
    def load(cls, config_file: Path | None = None, **overrides: Any) -> Settings:
        """Build settings from a TOML file (if given), the environment, then overrides.

        The environment wins over the file so that deployments can keep one file
        and change single values per node.
        """
        file_values: dict[str, Any] = {}
        if config_file is not None:
            with config_file.open("rb") as fh:
                file_values = tomllib.load(fh)
        env_values = cls().model_dump(exclude_unset=True)
        merged = {**file_values, **env_values, **overrides}
        return cls(**merged)
