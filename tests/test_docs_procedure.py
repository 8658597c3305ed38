"""docs/procedure.md shows the permission matrix exactly as the server enforces it."""

from __future__ import annotations

from pathlib import Path

from server.procedure.permissions import MATRIX, Action
from server.roles import ProceduralRole

DOC = Path(__file__).resolve().parents[1] / "docs" / "procedure.md"


def documented_matrix() -> dict[Action, set[ProceduralRole]]:
    lines = [line for line in DOC.read_text(encoding="utf-8").splitlines() if line.startswith("|")]
    header_index = next(i for i, line in enumerate(lines) if line.startswith("| role |"))
    header = [cell.strip().strip("`") for cell in lines[header_index].strip("|").split("|")]
    actions = [Action(name) for name in header[1:]]
    matrix: dict[Action, set[ProceduralRole]] = {action: set() for action in actions}
    for line in lines[header_index + 2 :]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if cells[0] not in ProceduralRole._value2member_map_:
            break
        for action, cell in zip(actions, cells[1:], strict=True):
            if cell == "✓":
                matrix[action].add(ProceduralRole(cells[0]))
    return matrix


def test_the_documented_matrix_is_the_enforced_one() -> None:
    documented = documented_matrix()
    assert set(documented) == set(Action)
    for action in Action:
        assert documented[action] == set(MATRIX[action]), action
