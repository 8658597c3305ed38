"""Short-lived TURN credentials: coturn's REST-API shared-secret scheme (``use-auth-secret``).

The server and coturn share one secret and never talk to each other. The
username is ``"<expiry unix time>:<participant id>"``; the password is
``base64(HMAC-SHA1(secret, username))``. coturn recomputes the password from
the username, and refuses the username once its expiry time has passed. It checks
only when an allocation is made: a relayed call that is already up outlives its
credential, and a rejoin hands out a fresh one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

import structlog

if TYPE_CHECKING:
    from server.settings import Settings

SEPARATOR = ":"  # coturn's default rest-api-separator
# RFC 8489 section 14.3: USERNAME is shorter than 513 bytes.
MAX_USERNAME_BYTES = 512
# Characters kept as they are in the username; everything else is %-encoded, so
# the id part has no colon (TURN servers that split on the last colon read it
# right too) and no byte a client might SASLprep differently than coturn.
_UNRESERVED = "-._~"

log = structlog.get_logger(__name__)


def turn_username(expiry: int, participant_id: str) -> str:
    """``"<expiry>:<participant id, %-encoded>"``; ValueError if it cannot be a STUN USERNAME."""
    if expiry < 0:
        raise ValueError("the expiry is a unix time")
    if not participant_id:
        raise ValueError("a participant id is required")
    username = f"{expiry}{SEPARATOR}{quote(participant_id, safe=_UNRESERVED)}"
    if len(username) > MAX_USERNAME_BYTES:
        raise ValueError("the participant id is too long for a TURN username")
    return username


def parse_turn_username(username: str) -> tuple[int, str]:
    """The expiry and participant id a ``turn_username`` was made of."""
    expiry, separator, encoded = username.partition(SEPARATOR)
    if not separator or not expiry.isascii() or not expiry.isdigit() or not encoded:
        raise ValueError("not a TURN REST-API username")
    return int(expiry), unquote(encoded, errors="strict")


def turn_password(secret: str, username: str) -> str:
    """What coturn computes for ``username`` with ``static-auth-secret``."""
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True)
class TurnCredential:
    username: str
    credential: str
    expires_at: int


def issue_credential(
    secret: str, participant_id: str, *, now: float, ttl_seconds: int, not_after: int | None
) -> TurnCredential:
    """A credential valid ``ttl_seconds`` from ``now``, never past ``not_after`` (the token's exp).

    A participant's token is what lets them into the hearing; a TURN credential
    that outlived it would let a removed participant keep relaying.
    """
    expiry = int(now) + ttl_seconds
    if not_after is not None:
        expiry = min(expiry, not_after)
    username = turn_username(expiry, participant_id)
    return TurnCredential(username, turn_password(secret, username), expiry)


def ice_servers_for(
    settings: Settings,
    participant_id: str,
    *,
    not_after: int | None,
    now: float | None = None,
) -> list[dict[str, Any]]:
    """The RTCIceServer list for one participant: the static servers, then TURN if configured."""
    servers = [s.model_dump(exclude_none=True) for s in settings.ice_servers]
    secret = settings.turn_secret
    if secret is None or not settings.turn_urls:
        return servers
    try:
        credential = issue_credential(
            secret.get_secret_value(),
            participant_id,
            now=time.time() if now is None else now,
            ttl_seconds=settings.turn_ttl_seconds,
            not_after=not_after,
        )
    except ValueError as exc:
        # Only an id of >100 non-ASCII characters gets here; such a participant
        # still joins, over STUN and host candidates only.
        log.warning("turn_credential_refused", participant=participant_id, reason=str(exc))
        return servers
    servers.append(
        {
            "urls": list(settings.turn_urls),
            "username": credential.username,
            "credential": credential.credential,
        }
    )
    return servers
