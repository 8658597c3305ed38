"""The ``tyndau`` command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import structlog
from aiohttp import web

from server.app import create_app
from server.auth.tokens import Grants
from server.context import ServerContext
from server.demo import create_demo_hearing
from server.hearings import Hearing
from server.logging_config import configure_logging
from server.settings import Settings

log = structlog.get_logger("tyndau")


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {
        key: value
        for key, value in (("host", args.host), ("port", args.port), ("data_dir", args.data_dir))
        if value is not None
    }
    if getattr(args, "demo", False):
        overrides["demo"] = True
    return Settings.load(args.config, **overrides)


def serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_format)
    ctx = ServerContext.build(settings)
    if settings.demo:
        hearing, links = create_demo_hearing(ctx)
        print(f"\nDemo hearing {hearing.case_number} ({hearing.title}). Join links:", flush=True)
        for seat, link in links:
            print(f"  {seat.role:<11} {seat.name}:\n    {link}", flush=True)
        print(flush=True)
    app = create_app(ctx=ctx)
    log.info("listening", host=settings.host, port=settings.port, demo=settings.demo)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        shutdown_timeout=settings.shutdown_timeout_seconds,
        print=None,
        access_log=None,
    )
    return 0


def issue_token(args: argparse.Namespace) -> int:
    settings = _settings(args)
    ctx = ServerContext.build(settings)
    ctx.hearings.add(Hearing(id=args.hearing, case_number=args.hearing, title=args.hearing))
    grants = Grants(
        publish_audio=not args.receive_only,
        publish_video=not args.receive_only,
        subscribe=True,
        admin=args.admin,
    )
    token = ctx.issuer.issue(
        hearing=args.hearing,
        participant_id=args.participant,
        name=args.name,
        role=args.role,
        grants=grants,
        ttl_seconds=args.ttl,
    )
    print(token)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tyndau", description="Tyndau video hearing server")
    parser.add_argument("--config", type=Path, help="TOML settings file")
    parser.add_argument("--data-dir", type=Path, dest="data_dir", default=None)
    sub = parser.add_subparsers(dest="command", required=True)

    p_serve = sub.add_parser("serve", help="run the server")
    p_serve.add_argument("--host", default=None)
    p_serve.add_argument("--port", type=int, default=None)
    p_serve.add_argument("--demo", action="store_true", help="create a demo hearing, print links")
    p_serve.set_defaults(func=serve)

    p_token = sub.add_parser("token", help="mint a hearing token with the server's key")
    p_token.add_argument("--hearing", required=True)
    p_token.add_argument("--participant", required=True)
    p_token.add_argument("--name", required=True)
    p_token.add_argument("--role", required=True)
    p_token.add_argument("--receive-only", action="store_true")
    p_token.add_argument("--admin", action="store_true")
    p_token.add_argument("--ttl", type=int, default=None, help="seconds")
    p_token.set_defaults(func=issue_token, host=None, port=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
