"""The demo hearing `tyndau serve --demo` creates, and the links to join it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from server.context import ServerContext
from server.hearings import Hearing, Seat
from server.procedure.states import HearingState
from server.roles import ProceduralRole, grants_for

DEMO_HEARING_ID = "demo"
DEMO_CASE_NUMBER = "7599-26-00-1/0001"
DEMO_COURT = "Астана қаласының тергеу соты"


@dataclass(frozen=True)
class DemoSeat:
    participant_id: str
    name: str
    role: ProceduralRole
    represents: str | None = None


DEMO_SEATS = (
    DemoSeat("judge", "Әлия Серікова", ProceduralRole.JUDGE),
    DemoSeat("secretary", "Гүлнар Омарова", ProceduralRole.SECRETARY),
    DemoSeat("prosecutor", "Ерлан Асқаров", ProceduralRole.PROSECUTOR),
    DemoSeat("detainee", "Болат Қайратұлы", ProceduralRole.DETAINEE),
    DemoSeat("lawyer", "Мадина Нұрланқызы", ProceduralRole.LAWYER, represents="detainee"),
    DemoSeat("observer", "Бақылаушы", ProceduralRole.OBSERVER),
)


async def create_demo_hearing(ctx: ServerContext) -> tuple[Hearing, list[tuple[DemoSeat, str]]]:
    """Schedule the demo sanction session (waiting room open) and return a join link per seat.

    Each run gets a hearing of its own (``demo`` the first time): one from an
    earlier run may be closed, and closed is final.
    """
    now = datetime.now(UTC).replace(microsecond=0)
    hearing_id = DEMO_HEARING_ID
    if await ctx.hearings.fetch(hearing_id) is not None:
        hearing_id = f"{DEMO_HEARING_ID}-{now:%Y%m%d%H%M%S}"
    hearing = Hearing(
        id=hearing_id,
        case_number=DEMO_CASE_NUMBER,
        title="Демо: санкциялау",
        kind="sanction_session",
        state=HearingState.OPEN,
        court=DEMO_COURT,
        scheduled_at=now,
        # The waiting room is part of the demo: the judge admits the parties.
        auto_admit=False,
        is_open=True,
    )
    await ctx.hearings.save(hearing, created_by="demo")
    links = []
    for demo in DEMO_SEATS:
        await ctx.hearings.add_seat(
            Seat(
                id=demo.participant_id,
                hearing_id=hearing.id,
                role=demo.role,
                name=demo.name,
                represents=demo.represents,
            )
        )
        token = ctx.issuer.issue(
            hearing=hearing.id,
            participant_id=demo.participant_id,
            name=demo.name,
            role=str(demo.role),
            grants=grants_for(demo.role),
        )
        links.append((demo, f"{ctx.settings.base_url}/join#token={token}"))
    return hearing, links
