"""The demo hearing `tyndau serve --demo` creates, and the links to join it."""

from __future__ import annotations

from dataclasses import dataclass

from server.auth.tokens import Grants
from server.context import ServerContext
from server.hearings import Hearing
from server.procedure.states import HearingState

DEMO_HEARING_ID = "demo"
DEMO_CASE_NUMBER = "7599-26-00-1/0001"

SPEAKER = Grants(publish_audio=True, publish_video=True, subscribe=True)


@dataclass(frozen=True)
class DemoSeat:
    participant_id: str
    name: str
    role: str
    grants: Grants


DEMO_SEATS = (
    DemoSeat("judge", "Әлия Серікова", "judge", SPEAKER.model_copy(update={"admin": True})),
    DemoSeat("prosecutor", "Ерлан Асқаров", "prosecutor", SPEAKER),
    DemoSeat("lawyer", "Мадина Нұрланқызы", "lawyer", SPEAKER),
    DemoSeat("detainee", "Болат Қайратұлы", "detainee", SPEAKER),
    DemoSeat("observer", "Бақылаушы", "observer", Grants(subscribe=True)),
)


def create_demo_hearing(ctx: ServerContext) -> tuple[Hearing, list[tuple[DemoSeat, str]]]:
    """Register the demo hearing and return a join link per seat."""
    hearing = Hearing(
        id=DEMO_HEARING_ID,
        case_number=DEMO_CASE_NUMBER,
        title="Демо сот отырысы",
        kind="sanction_session",
        state=HearingState.OPEN,
        auto_admit=True,
    )
    ctx.hearings.add(hearing)
    links = []
    for seat in DEMO_SEATS:
        token = ctx.issuer.issue(
            hearing=hearing.id,
            participant_id=seat.participant_id,
            name=seat.name,
            role=seat.role,
            grants=seat.grants,
        )
        links.append((seat, f"{ctx.settings.base_url}/join#token={token}"))
    return hearing, links
