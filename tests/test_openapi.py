"""The OpenAPI document is valid and describes exactly the routes the server has."""

from __future__ import annotations

import aiohttp
import yaml
from openapi_spec_validator import validate

DOCUMENTED_ELSEWHERE = {"/", "/join", "/kiosk", "/login", "/vendor/socket.io.esm.min.js"}


def served_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if (
            path is None
            or path.startswith(("/socket.io", "/static"))
            or path in DOCUMENTED_ELSEWHERE
        ):
            continue
        if route.method in {"HEAD", "*"}:
            continue
        routes.add((path, route.method.lower()))
    return routes


async def test_the_spec_is_valid_and_matches_the_routes(tyndau) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{tyndau.url}/api/openapi.yaml") as response,
    ):
        assert response.status == 200
        spec = yaml.safe_load(await response.text())
    validate(spec)
    documented = {
        (path, method)
        for path, operations in spec["paths"].items()
        for method in operations
        if method != "parameters"
    }
    assert documented == served_routes(tyndau.app)
