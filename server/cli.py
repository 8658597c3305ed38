"""The ``tyndau`` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import structlog
from aiohttp import web

from recorder import cli as archive_cli
from server.app import create_app
from server.auth import keys
from server.auth.tokens import Grants
from server.context import ServerContext
from server.demo import create_demo_hearing
from server.directory import StaffRole
from server.errors import CodedError
from server.eventloop import new_event_loop
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
    app = create_app(ctx=ctx)
    if settings.demo:
        # After the context's start-up: the demo hearing is written to the database.
        app.on_startup.append(lambda _app: _print_demo_links(ctx))
    log.info("listening", host=settings.host, port=settings.port, demo=settings.demo)
    loop = new_event_loop(settings.event_loop)
    asyncio.set_event_loop(loop)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        shutdown_timeout=settings.shutdown_timeout_seconds,
        print=None,
        access_log=None,
        loop=loop,
    )
    return 0


async def _print_demo_links(ctx: ServerContext) -> None:
    hearing, links = await create_demo_hearing(ctx)
    print(f"\nDemo hearing {hearing.case_number} ({hearing.title}). Join links:", flush=True)
    for seat, link in links:
        print(f"  {seat.role!s:<11} {seat.name}:\n    {link}", flush=True)
    print(flush=True)


def issue_token(args: argparse.Namespace) -> int:
    settings = _settings(args)
    ctx = ServerContext.build(settings)
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


def _with_database(
    args: argparse.Namespace, work: Callable[[ServerContext], Awaitable[None]]
) -> int:
    """Run ``work`` against the server's database (migrated first), offline."""

    async def run() -> None:
        ctx = ServerContext.build(_settings(args))
        await ctx.db.upgrade()
        try:
            await work(ctx)
        finally:
            await ctx.db.close()

    asyncio.run(run())
    return 0


def add_user(args: argparse.Namespace) -> int:
    """Put a person into the court directory (or update them)."""

    async def work(ctx: ServerContext) -> None:
        entry = await ctx.directory.upsert(
            iin=args.iin,
            full_name=args.name,
            roles=[StaffRole(r) for r in args.role],
            court=args.court,
            lawyer_licence=args.licence,
            active=not args.deactivate,
        )
        roles = ", ".join(entry.roles) or "none"
        print(f"{entry.full_name} ({entry.iin}): {roles}; active={entry.active}")

    return _with_database(args, work)


def add_unit(args: argparse.Namespace) -> int:
    """Register a facility video unit and print its credential (shown once)."""

    async def work(ctx: ServerContext) -> None:
        endpoint, credential = await ctx.facilities.register_endpoint(args.facility, args.unit)
        print(f"unit {endpoint.unit} at {endpoint.facility}: id {endpoint.id}")
        print(f"credential (configure the kiosk with it; it is not shown again): {credential}")

    return _with_database(args, work)


def manage_courts(args: argparse.Namespace) -> int:
    """Add a court (with the court of the next higher instance), or list the hierarchy."""

    async def work(ctx: ServerContext) -> None:
        if args.courts_command == "add":
            court = await ctx.courts.add(args.name, args.higher)
            print(f"{court.name}" + (f" (higher instance: {court.higher})" if court.higher else ""))
            return
        for court in await ctx.courts.all():
            print(f"{court.name}\t{court.higher or '-'}")

    try:
        return _with_database(args, work)
    except CodedError as exc:
        print(f"tyndau: {exc.message}", file=sys.stderr)
        return 2


def verify_audit(args: argparse.Namespace) -> int:
    """Check the recordings' audit chain; exit 0 when it holds, 1 when a link is broken."""
    expected = None
    if args.head:
        seq, _, digest = args.head.partition(":")
        if not seq.isdigit() or len(digest) != 64:
            raise ValueError("--head is SEQ:SHA256, as a previous check printed it")
        expected = (int(seq), digest)
    outcome: list[int] = []

    async def work(ctx: ServerContext) -> None:
        report = await ctx.audit.verify(expected_head=expected)
        if report.problem is not None:
            print(f"broken: {report.problem.line()}")
            outcome.append(1)
            return
        print(f"ok: {report.entries} entries; head {report.head_seq}:{report.head_hash}")
        outcome.append(0)

    _with_database(args, work)
    return outcome[0]


def manage_keys(args: argparse.Namespace) -> int:
    """List, rotate or retire the token signing keys in the data directory."""
    directory = _settings(args).data_dir / "keys"
    if args.keys_command == "rotate":
        key = keys.rotate(directory)
        print(f"new signing key {key.kid}: restart each node to sign with it")
    elif args.keys_command == "retire":
        keys.retire(directory, args.kid)
        print(f"retired {args.kid}")
    ring = keys.KeyRing.load_or_create(directory)
    for kid in ring.kids():
        print(f"{kid}{'  (signs)' if kid == ring.current.kid else ''}")
    return 0


def list_nodes(args: argparse.Namespace) -> int:
    """The nodes as Redis sees them: alive or dead, load, hearings (0; 2 without Redis,
    1 when Redis cannot be reached)."""
    settings = _settings(args)
    if not settings.redis_url:
        print("tyndau nodes: TYNDAU_REDIS_URL is not set: this is a single node", file=sys.stderr)
        return 2
    return asyncio.run(_print_nodes(settings, as_json=args.json))


async def _print_nodes(settings: Settings, *, as_json: bool) -> int:
    from redis.exceptions import RedisError

    from server.node_status import node_statuses, render_table
    from server.redis_client import connect

    redis = connect(settings.redis_url or "")
    try:
        statuses = await node_statuses(redis, settings)
    except (RedisError, OSError) as exc:
        print(f"tyndau nodes: Redis cannot be reached: {exc}", file=sys.stderr)
        return 1
    finally:
        await redis.aclose()
    if as_json:
        print(json.dumps([s.as_json() for s in statuses], indent=2))
    else:
        print(render_table(statuses))
    return 0


def run_worker(args: argparse.Namespace) -> int:
    """Archive closed hearings from the shared job stream until stopped (docs/several-nodes.md).

    Exit 0 when stopped (or, with ``--once``, the job was done), 1 when the
    ``--once`` job failed, 2 without ``TYNDAU_REDIS_URL``.
    """
    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_format)
    if not settings.redis_url:
        print(
            "tyndau worker: TYNDAU_REDIS_URL is not set; without it each node archives its "
            "own hearings and needs no worker",
            file=sys.stderr,
        )
        return 2
    outcome = asyncio.run(_work_on_mix_jobs(settings, once=args.once))
    return 0 if outcome in (None, "done") else 1


async def _work_on_mix_jobs(settings: Settings, *, once: bool) -> str | None:
    from server.mix_jobs import MixWorker, worker_name
    from server.redis_client import connect

    ctx = ServerContext.build(settings)
    await ctx.db.upgrade()
    consumer = worker_name()
    pipeline = ctx.archiving
    pipeline.worker_id = consumer
    pipeline.mix_progress = sys.stderr.isatty()  # the mixer's bar, as `archive mix` shows it
    redis = connect(settings.redis_url or "")
    worker = MixWorker(
        redis, pipeline, consumer=consumer, lease_seconds=settings.mix_job_lease_seconds
    )
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()

    def stop() -> None:
        log.info("mix_worker_stopping", consumer=consumer)
        pipeline.terminate_mixer()  # its job is taken by another worker after the lease
        task.cancel()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop)
    try:
        return await worker.run(once=once)
    except asyncio.CancelledError:
        return None
    finally:
        pipeline.terminate_mixer()
        await redis.aclose()
        if pipeline.jobs is not None:
            await pipeline.jobs.redis.aclose()
        await ctx.archive.close()
        await ctx.db.close()
        log.info("mix_worker_stopped", consumer=consumer, done=worker.done)


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

    p_user = sub.add_parser("users", help="the court directory")
    user_sub = p_user.add_subparsers(dest="users_command", required=True)
    p_add = user_sub.add_parser("add", help="add or update a person")
    p_add.add_argument("--iin", required=True)
    p_add.add_argument("--name", required=True)
    p_add.add_argument("--role", action="append", default=[], choices=[str(r) for r in StaffRole])
    p_add.add_argument("--court", help="court, or facility for a facility officer")
    p_add.add_argument("--licence", help="a lawyer's licence number")
    p_add.add_argument("--deactivate", action="store_true")
    p_add.set_defaults(func=add_user, host=None, port=None)

    p_keys = sub.add_parser("keys", help="token signing keys")
    keys_sub = p_keys.add_subparsers(dest="keys_command", required=True)
    keys_sub.add_parser("list", help="the keys; the newest signs")
    keys_sub.add_parser("rotate", help="add a new signing key (old ones keep verifying)")
    p_retire = keys_sub.add_parser("retire", help="remove an old key")
    p_retire.add_argument("kid")
    p_keys.set_defaults(func=manage_keys, host=None, port=None)

    p_facility = sub.add_parser("facility", help="detention-facility video units")
    facility_sub = p_facility.add_subparsers(dest="facility_command", required=True)
    p_unit = facility_sub.add_parser("add-unit", help="register a video unit")
    p_unit.add_argument("--facility", required=True)
    p_unit.add_argument("--unit", required=True)
    p_unit.set_defaults(func=add_unit, host=None, port=None)

    p_courts = sub.add_parser("courts", help="the court hierarchy (higher instances)")
    courts_sub = p_courts.add_subparsers(dest="courts_command", required=True)
    p_court = courts_sub.add_parser("add", help="add a court, or change its higher court")
    p_court.add_argument("--name", required=True)
    p_court.add_argument("--higher", help="the court of the next higher instance (listed first)")
    courts_sub.add_parser("list", help="every court and the court above it")
    p_courts.set_defaults(func=manage_courts, host=None, port=None)

    p_audit = sub.add_parser("audit", help="the recordings' audit log")
    audit_sub = p_audit.add_subparsers(dest="audit_command", required=True)
    p_verify = audit_sub.add_parser("verify", help="check the hash chain; print its head")
    p_verify.add_argument("--head", help="SEQ:SHA256 printed by an earlier check: must remain")
    p_audit.set_defaults(func=verify_audit, host=None, port=None)

    p_worker = sub.add_parser(
        "worker",
        help="archive closed hearings from the shared job stream (several nodes, Redis)",
        description="Take archiving jobs (mix, seal, register, release) off the Redis stream "
        "tyndau:mix-jobs until stopped (SIGTERM: the job in hand is taken by another worker "
        "after TYNDAU_MIX_JOB_LEASE_SECONDS). Needs TYNDAU_REDIS_URL, the nodes' database, "
        "recordings directory, archive storage and keys. Logs are structured (JSON by "
        "default); a progress bar shows the mix on a terminal.",
    )
    p_worker.add_argument(
        "--once", action="store_true", help="do one job, then exit (0 done, 1 failed)"
    )
    p_worker.set_defaults(func=run_worker, host=None, port=None)

    p_nodes = sub.add_parser(
        "nodes",
        help="the nodes of a deployment: alive or dead, load, hearings (Redis)",
        description="What every node registered in Redis is doing: alive or dead (not yet "
        "swept), participants against capacity, CPU (share of one core), forwarded bitrate, "
        "when it was last heard of, and the hearings placed on it. Read-only.",
    )
    p_nodes.add_argument("--json", action="store_true", help="machine-readable output")
    p_nodes.set_defaults(func=list_nodes, host=None, port=None)

    archive_cli.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ValueError as exc:  # bad input from the command line: say what, no traceback
        print(f"tyndau: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
