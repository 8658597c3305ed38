"""``tyndau archive seal`` and ``tyndau archive verify``.

The command line of the archive, kept apart from ``archive`` and ``verify`` so
that those stay plain library code the server can call.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

from recorder import archive_keys
from recorder.archive import HearingIdentity, SealError, release_capture, seal
from recorder.storage import LocalStorage, S3Storage, Storage, open_storage
from recorder.verify import verify_archive
from server.logging_config import configure_logging
from server.settings import Settings


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {"data_dir": args.data_dir} if getattr(args, "data_dir", None) else {}
    settings = Settings.load(getattr(args, "config", None), **overrides)
    # stdout is the command's answer; logs (warnings only) go to stderr.
    configure_logging("warning", settings.log_format)
    return settings


def _keys_dir(settings: Settings) -> Path:
    return settings.data_dir / "keys"


def _archive_at(path: str, settings: Settings) -> tuple[Storage, str] | None:
    """The storage holding the archive at ``path`` and the archive's folder in it.

    The archive is opened as the storage's root, so what lies beside it does not count.
    """
    if path.startswith("s3://"):
        parsed = urlparse(path)
        if not parsed.netloc:
            return None
        endpoint = settings.archive_s3_endpoint
        return S3Storage(parsed.netloc, unquote(parsed.path), endpoint=endpoint), ""
    local = Path(path)
    if not local.is_dir():
        return None
    return LocalStorage(local), ""


def verify_command(args: argparse.Namespace) -> int:
    """Check an archive; one line per problem; exit 0 ok, 1 problems, 2 not checked."""
    settings = _settings(args)
    if args.trusted_key:
        trusted = archive_keys.keys_from_pem_files(args.trusted_key)
    else:
        trusted = archive_keys.trusted_keys(_keys_dir(settings))
    target = _archive_at(args.path, settings)
    if target is None:
        print(f"could not check: no archive at {args.path}", file=sys.stderr)
        return 2
    storage, folder = target

    async def run() -> int:
        async with storage:
            report = await verify_archive(storage, folder, trusted, progress=None)
        if not report.checked:
            print(f"could not check: {report.error}", file=sys.stderr)
            return report.exit_status
        for problem in report.problems:
            print(problem.line())
        if report.ok and report.manifest is not None:
            files = len(report.manifest["files"])
            signer = report.manifest["signature"]["key_id"]
            print(f"ok: {files} files and the capture chain verify; signed by key {signer}")
        return report.exit_status

    return asyncio.run(run())


def seal_command(args: argparse.Namespace) -> int:
    """Seal a capture with its mixed file and protocol into the archive."""
    settings = _settings(args)
    try:
        protocol = json.loads(args.protocol_json.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the protocol {args.protocol_json}: {exc}") from exc
    hearing = HearingIdentity.from_protocol(
        protocol,
        id=args.hearing_id,
        case_number=args.case_number,
        court=args.court,
        title=args.title,
        kind=args.kind,
        judge=args.judge,
        scheduled_at=args.scheduled_at,
        language=args.language,
    )
    url = args.archive_url or settings.archive_url
    storage = open_storage(
        url, data_dir=settings.data_dir, s3_endpoint=settings.archive_s3_endpoint
    )
    key = archive_keys.signing_key(_keys_dir(settings))

    async def run() -> int:
        async with storage:
            try:
                result = await seal(
                    args.capture_dir,
                    args.mixed,
                    args.protocol_json,
                    args.protocol_html,
                    hearing,
                    storage,
                    key,
                )
                print(f"sealed {result.storage_url}/{result.folder} (key {key.key_id})")
                if args.remove_capture:
                    trusted = archive_keys.trusted_keys(_keys_dir(settings))
                    await release_capture(args.capture_dir, storage, result.folder, trusted)
                    print(f"removed {args.capture_dir}: the archive verifies")
            except SealError as exc:
                print(f"error {exc.code}: {exc}", file=sys.stderr)
                return 1
        return 0

    return asyncio.run(run())


def add_command(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``seal`` and ``verify`` to ``tyndau archive``."""
    p_verify = commands.add_parser(
        "verify", help="check a sealed archive: hashes, capture chain, signature, trusted key"
    )
    p_verify.add_argument("path", help="archive folder (<case>/<hearing_id>) or s3:// URL")
    p_verify.add_argument(
        "--trusted-key",
        type=Path,
        action="append",
        default=[],
        metavar="PEM",
        help="trust this archive key (public or private PEM) instead of the server's",
    )
    p_verify.set_defaults(func=verify_command, host=None, port=None)

    p_seal = commands.add_parser("seal", help="seal a hearing's capture into the archive")
    p_seal.add_argument("capture_dir", type=Path, metavar="CAPTURE_DIR")
    p_seal.add_argument("--mixed", type=Path, required=True, metavar="FILE", help="mixed MP4")
    p_seal.add_argument("--protocol-json", type=Path, required=True, metavar="F")
    p_seal.add_argument("--protocol-html", type=Path, required=True, metavar="F")
    p_seal.add_argument("--archive-url", help="override TYNDAU_ARCHIVE_URL")
    p_seal.add_argument(
        "--remove-capture",
        action="store_true",
        help="delete the capture once the archive verifies on its storage",
    )
    identity = p_seal.add_argument_group(
        "hearing identity (default: the protocol's hearing object)"
    )
    identity.add_argument("--hearing-id")
    identity.add_argument("--case-number")
    identity.add_argument("--court")
    identity.add_argument("--title")
    identity.add_argument("--kind")
    identity.add_argument("--judge")
    identity.add_argument("--scheduled-at")
    identity.add_argument("--language")
    p_seal.set_defaults(func=seal_command, host=None, port=None)
