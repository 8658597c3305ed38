"""The deployment files in deploy/ hold together: they parse, name real settings, keep
secrets out, and nginx routes /node/<id>/ to that node.

The routing test runs a real nginx (Debian's ``nginx-light``, which
``./scripts/test.sh`` installs) with a throwaway prefix and a self-signed
certificate, in front of two real Tyndau nodes on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import kubernetes_validate
import pytest
import socketio
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import AliasChoices
from support.ports import free_port
from support.postgres import PostgresServer
from support.running import HEARING_A, HEARING_B, RunningServer, running_server

from server.settings import Settings
from signaling.namespace import NAMESPACE

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
NGINX_MISSING = "nginx is not installed: run ./scripts/test.sh (Debian package nginx-light)"
CLUSTER_CONF = DEPLOY / "nginx" / "tyndau-cluster.conf"
SINGLE_CONF = DEPLOY / "nginx" / "tyndau.conf"
K8S_CONF = DEPLOY / "k8s" / "nginx" / "tyndau.conf.template"
START_TIMEOUT = 15.0
# The oldest Kubernetes the manifests must hold for (PodDisruptionBudget policy/v1,
# StatefulSet, NetworkPolicy as used here are all older).
KUBERNETES_VERSION = "1.28"

# Variables read by deploy/docker-entrypoint.sh, by PostgreSQL's client library or by
# images other than Tyndau's: not Tyndau settings, but allowed in environments.
NOT_SETTINGS = re.compile(r"^(?!TYNDAU_)")


# -- what the files say ---------------------------------------------------------


def yaml_files() -> list[Path]:
    return sorted(p for ext in ("yaml", "yml") for p in DEPLOY.rglob(f"*.{ext}"))


def yaml_documents() -> Iterator[tuple[Path, Any]]:
    for path in yaml_files():
        for document in yaml.safe_load_all(path.read_text()):
            if document is not None:
                yield path, document


def setting_env_names() -> set[str]:
    """Every environment variable name Settings reads (upper case)."""
    names: set[str] = set()
    prefix = Settings.model_config.get("env_prefix", "")
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice).upper() for choice in alias.choices if str(choice).isupper())
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def env_names(document: Any) -> Iterator[str]:
    """Variable names set in compose ``environment`` maps/lists and k8s ``env`` lists."""
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "environment" and isinstance(value, dict):
                yield from (str(k) for k in value)
            elif key == "environment" and isinstance(value, list):
                yield from (str(item).split("=", 1)[0] for item in value)
            elif key == "env" and isinstance(value, list):
                yield from (str(item["name"]) for item in value if isinstance(item, dict))
            elif key == "data" and isinstance(value, dict) and document.get("kind") == "ConfigMap":
                yield from (str(k) for k in value if str(k).startswith("TYNDAU_"))
            else:
                yield from env_names(value)
    elif isinstance(document, list):
        for item in document:
            yield from env_names(item)


def systemd_env_names() -> Iterator[tuple[Path, str]]:
    for path in sorted((DEPLOY / "systemd").rglob("*")):
        if not path.is_file():
            continue
        for line in path.read_text().splitlines():
            line = line.strip()
            if line.startswith("Environment="):
                for assignment in line.removeprefix("Environment=").split():
                    yield path, assignment.strip('"').split("=", 1)[0]
            elif re.match(r"^#?\s*TYNDAU_[A-Z0-9_]+=", line):  # env file examples
                yield path, line.lstrip("#").strip().split("=", 1)[0]


def test_every_yaml_in_deploy_parses() -> None:
    files = yaml_files()
    assert DEPLOY / "compose.yaml" in files
    assert any(p.parent.name == "k8s" for p in files)
    documents = list(yaml_documents())
    assert len(documents) >= len(files)


def test_environments_name_real_settings() -> None:
    known = setting_env_names()
    used: dict[str, set[str]] = {}
    for path, document in yaml_documents():
        for name in env_names(document):
            used.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    for path, name in systemd_env_names():
        used.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    tyndau = {name for name in used if not NOT_SETTINGS.match(name)}
    assert {"TYNDAU_DATABASE_URL", "TYNDAU_REDIS_URL", "TYNDAU_RECORDINGS_DIR"} <= tyndau
    unknown = {name: sorted(used[name]) for name in tyndau - known}
    assert not unknown, f"not settings (server/settings.py): {unknown}"


SECRET_NAME = re.compile(r"(PASSWORD|SECRET|_KEY|TOKEN|CREDENTIAL)$", re.IGNORECASE)
# What may stand where a secret goes: a path, a reference, an interpolation, nothing.
SECRET_REFERENCE = re.compile(r"^(|/.*|\$\{[^}]+\}|\$\([^)]+\)|file:.*)$")


def inline_values(document: Any) -> Iterator[tuple[str, str]]:
    """(name, value) for every environment entry with a literal value."""
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "environment" and isinstance(value, dict):
                yield from ((str(k), "" if v is None else str(v)) for k, v in value.items())
            elif key == "environment" and isinstance(value, list):
                for item in value:
                    name, _, literal = str(item).partition("=")
                    yield name, literal
            elif key == "env" and isinstance(value, list):
                for item in value:
                    if isinstance(item, dict) and "value" in item:
                        yield str(item["name"]), str(item["value"])
            else:
                yield from inline_values(value)
    elif isinstance(document, list):
        for item in document:
            yield from inline_values(item)


def test_no_secret_values_in_the_repository() -> None:
    for path, document in yaml_documents():
        for name, value in inline_values(document):
            if SECRET_NAME.search(name):
                assert SECRET_REFERENCE.match(value), f"{path}: {name} holds a literal value"
            # A password inside a URL (scheme://user:password@host).
            assert not re.search(r"://[^/@\s:]+:[^/@\s]+@", value), f"{path}: {name}"
        if isinstance(document, dict) and document.get("kind") == "Secret":
            pytest.fail(f"{path}: a Secret with its data is in the repository")
    for path in (p for p in DEPLOY.rglob("*") if p.is_file()):
        text = path.read_text(errors="replace")
        assert "PRIVATE KEY-----" not in text, path
        for line in text.splitlines():
            if line.lstrip().startswith("#"):
                continue
            for match in SECRET_ASSIGNMENT.finditer(line):
                assert not LITERAL_SECRET.match(match.group(2).strip("'\"")), (
                    f"{path}: {line.strip()}"
                )


# A secret's setting in a configuration file or command line, and what a literal
# secret looks like there (references such as %s, $(cat ...) or a path do not).
SECRET_ASSIGNMENT = re.compile(
    r"(static-auth-secret|requirepass|masterauth|POSTGRES_PASSWORD|PGPASSWORD|"
    r"TYNDAU_TURN_SECRET|AWS_SECRET_ACCESS_KEY)[=:\s]+(\S+)"
)
LITERAL_SECRET = re.compile(r"^[A-Za-z0-9+/=_.-]{6,}$")


def test_compose_nodes_have_their_own_ids_and_urls() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    nodes = {name: s for name, s in services.items() if s.get("command") == ["serve"]}
    assert len(nodes) >= 2, sorted(services)
    seen_ids, seen_ports = set(), set()
    for name, service in nodes.items():
        env = service["environment"]
        seen_ids.add(env["TYNDAU_NODE_ID"])
        seen_ports.add(env["TYNDAU_PORT"])
        assert env["TYNDAU_NODE_URL"].endswith(f"/node/{env['TYNDAU_NODE_ID']}"), name
        assert service.get("network_mode") == "host", f"{name}: ICE needs the host's addresses"
    assert len(seen_ids) == len(nodes) == len(seen_ports)
    cluster = CLUSTER_CONF.read_text()
    for node_id in seen_ids:
        assert f"tyndau_node_{node_id} " in cluster, f"nginx has no upstream for {node_id}"
    assert any("worker" in name for name in services)
    for name in ("redis", "postgres", "coturn", "nginx"):
        assert name in services, name


def test_statefulset_names_nodes_after_their_pods() -> None:
    documents = {
        (d.get("kind"), d["metadata"]["name"]): d
        for _, d in yaml_documents()
        if isinstance(d, dict) and "kind" in d and "metadata" in d
    }
    sts = documents[("StatefulSet", "tyndau")]
    assert sts["spec"]["serviceName"] == "tyndau"
    assert documents[("Service", "tyndau")]["spec"]["clusterIP"] == "None"
    pod = sts["spec"]["template"]["spec"]
    container = next(c for c in pod["containers"] if c["name"] == "tyndau")
    env = {e["name"]: e for e in container["env"]}
    assert env["TYNDAU_NODE_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert "$(TYNDAU_NODE_ID)" in env["TYNDAU_NODE_URL"]["value"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert pod["terminationGracePeriodSeconds"] >= 30
    assert ("Deployment", "tyndau-worker") in documents
    assert ("PodDisruptionBudget", "tyndau") in documents
    assert any(kind == "NetworkPolicy" for kind, _ in documents)


def k8s_resources() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path, document in yaml_documents():
        if path.parent.name == "k8s" and document.get("kind") != "Kustomization":
            yield path, document


def test_kubernetes_manifests_match_the_api_schemas() -> None:
    """Strict: a misspelt or misplaced field fails, as ``kubectl apply`` would."""
    checked = 0
    for path, document in k8s_resources():
        try:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{path.name} {document['kind']}/{document['metadata']['name']}: {exc}")
        checked += 1
    assert checked >= 10


def test_kustomization_names_every_manifest_and_renders() -> None:
    kustomization = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())
    manifests = {p.name for p in (DEPLOY / "k8s").glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == manifests
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: the rendering is not checked")
    result = subprocess.run(
        [kubectl, "kustomize", str(DEPLOY / "k8s")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rendered = list(yaml.safe_load_all(result.stdout))
    configmap = next(d for d in rendered if d["metadata"]["name"].startswith("tyndau-nginx-"))
    assert configmap["data"]["tyndau.conf.template"] == K8S_CONF.read_text()
    nginx = next(
        d for d in rendered if (d["kind"], d["metadata"]["name"]) == ("Deployment", "tyndau-nginx")
    )
    volumes = {v["name"]: v for v in nginx["spec"]["template"]["spec"]["volumes"]}
    assert volumes["templates"]["configMap"]["name"] == configmap["metadata"]["name"]


def test_systemd_units_are_understood(tmp_path: Path) -> None:
    """``systemd-analyze verify``: every key known, every value parsed (templates instanced)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    units = []
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        name = unit.name.replace("@.service", "@example-1.service")
        shutil.copy(unit, tmp_path / name)
        units.append(f"./{name}")
    result = subprocess.run(
        [analyze, "verify", "--man=no", *units],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # This machine has no /opt/tyndau: that complaint alone is expected.
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if line.strip() and "/opt/tyndau/" not in line
    ]
    assert not problems, problems
    assert len(units) >= 4


def test_entrypoint_init_migrates_and_makes_the_keys_once(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    """``entrypoint.sh init`` against a real PostgreSQL whose password is only in a file
    (PGPASSWORD_FILE, as compose and Kubernetes give it): schema migrated, one token
    key and one archive key made; a second run changes nothing."""
    url = postgres_server.url(postgres_server.create_database())
    without_password = url.replace(f":{postgres_server.password}@", "@")
    assert without_password != url
    password_file = tmp_path / "postgres-password"
    password_file.write_text(postgres_server.password)
    data_dir = tmp_path / "data"
    venv_bin = Path(sys.executable).parent
    env = {
        "PATH": f"{venv_bin}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "TYNDAU_DATA_DIR": str(data_dir),
        "TYNDAU_DATABASE_URL": without_password,
        "PGPASSWORD_FILE": str(password_file),
        "TYNDAU_LOG_LEVEL": "warning",
    }
    keys: list[set[str]] = []
    for _ in range(2):
        result = subprocess.run(
            ["sh", str(DEPLOY / "entrypoint.sh"), "init"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        keys.append({p.name for p in (data_dir / "keys").glob("*.pem")})
    assert keys[0] == keys[1], "a second init made new keys"
    assert len([k for k in keys[0] if k.startswith("archive-")]) == 1
    assert len([k for k in keys[0] if not k.startswith("archive-")]) == 1
    assert not (data_dir / "tyndau.db").exists(), "init used SQLite, not the database URL"
    tables = postgres_server_tables(postgres_server, without_password.rsplit("/", 1)[1])
    assert "alembic_version" in tables


def postgres_server_tables(server: PostgresServer, database: str) -> set[str]:
    async def names() -> set[str]:
        connection = await asyncpg.connect(
            host=server.host,
            port=server.port,
            user="tyndau",
            password=server.password,
            database=database,
        )
        try:
            rows = await connection.fetch("SELECT tablename FROM pg_tables")
        finally:
            await connection.close()
        return {row["tablename"] for row in rows}

    return asyncio.run(names())


# -- nginx -----------------------------------------------------------------------


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def render(text: str, replacements: dict[str, str]) -> str:
    """Replace each key (which must occur: the test follows the file) by its value."""
    for old, new in replacements.items():
        assert old in text, f"{old!r} is not in the configuration any more"
        text = text.replace(old, new)
    return text


def nginx_prefix(tmp_path: Path, site: str) -> Path:
    """A prefix directory with a main nginx.conf including ``site``; returns the conf path."""
    prefix = tmp_path / "nginx"
    prefix.mkdir(exist_ok=True)
    (prefix / "site.conf").write_text(site)
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers read the temp prefix
    main = prefix / "nginx.conf"
    main.write_text(
        f"{user}daemon off;\nworker_processes 1;\npid {prefix}/nginx.pid;\n"
        f"error_log {prefix}/error.log info;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        f"  client_body_temp_path {prefix}/body;\n  proxy_temp_path {prefix}/proxy;\n"
        f"  fastcgi_temp_path {prefix}/fastcgi;\n  uwsgi_temp_path {prefix}/uwsgi;\n"
        f"  scgi_temp_path {prefix}/scgi;\n"
        f"  include {prefix}/site.conf;\n}}\n"
    )
    return main


def nginx_command(main: Path, *extra: str) -> list[str]:
    prefix = main.parent
    return [NGINX, "-p", f"{prefix}/", "-c", str(main), "-e", str(prefix / "error.log"), *extra]


def require_nginx() -> None:
    if not Path(NGINX).exists():
        pytest.fail(NGINX_MISSING, pytrace=False)  # not a skip: test.sh installs it


def common_replacements(tmp_path: Path) -> dict[str, str]:
    cert, key = self_signed(tmp_path)
    return {
        "/etc/ssl/tyndau/fullchain.pem": str(cert),
        "/etc/ssl/tyndau/privkey.pem": str(key),
        "/var/log/nginx/tyndau.log": str(tmp_path / "access.log"),
    }


def nginx_test(main: Path) -> None:
    result = subprocess.run(
        nginx_command(main, "-t"), capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("conf", [SINGLE_CONF, CLUSTER_CONF], ids=["single", "cluster"])
def test_nginx_accepts_the_configuration(tmp_path: Path, conf: Path) -> None:
    require_nginx()
    site = render(conf.read_text(), common_replacements(tmp_path))
    site = re.sub(r"listen 443 ssl", f"listen 127.0.0.1:{free_port()} ssl", site)
    site = re.sub(r"listen 80;", f"listen 127.0.0.1:{free_port()};", site)
    nginx_test(nginx_prefix(tmp_path, site))


def test_nginx_accepts_the_kubernetes_template(tmp_path: Path) -> None:
    """The template as the nginx image renders it (envsubst), then ``nginx -t``."""
    require_nginx()
    cert, key = self_signed(tmp_path)
    site = render(
        K8S_CONF.read_text(),
        {
            "${NGINX_LOCAL_RESOLVERS}": "127.0.0.1",
            "${POD_NAMESPACE}": "tyndau",
            "/etc/nginx/tls/tls.crt": str(cert),
            "/etc/nginx/tls/tls.key": str(key),
            "listen 8080;": f"listen 127.0.0.1:{free_port()};",
            "listen 8443 ssl": f"listen 127.0.0.1:{free_port()} ssl",
            "/dev/stdout": str(tmp_path / "access.log"),
        },
    )
    assert "${" not in site, "a variable the nginx image would not substitute"
    nginx_test(nginx_prefix(tmp_path, site))


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"nginx exited: {log.read_text(errors='replace')}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    pytest.fail(f"nginx did not listen on {port}")


@contextlib.contextmanager
def running_nginx(main: Path, port: int) -> Iterator[None]:
    process = subprocess.Popen(
        nginx_command(main),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_port(port, process, main.parent / "error.log")
        yield
    finally:
        process.send_signal(signal.SIGQUIT)  # graceful: workers finish, then exit
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def node_settings(directory: Path) -> Settings:
    return Settings(
        data_dir=directory,
        ice_host_addresses=["127.0.0.1"],
        log_format="console",
        log_level="warning",
        recording_enabled=False,
        trusted_proxies=["127.0.0.1"],
    )


async def kid_of(session: aiohttp.ClientSession, url: str) -> set[str]:
    async with session.get(url) as response:
        assert response.status == 200, (url, response.status)
        return {key["kid"] for key in (await response.json())["keys"]}


async def socketio_outcome(origin: str, path: str, token: str) -> str:
    """Connect over WebSocket through ``path``: "connected" or the refusal's code."""
    refused = await refusal(origin, path, token)
    return "connected" if refused is None else str(refused["code"])


async def test_single_node_nginx_passes_a_browser_connect(tmp_path: Path) -> None:
    """deploy/nginx/tyndau.conf in front of one node: a page's Socket.IO connect (with
    its https Origin, on a port other than 443) is accepted, not refused as cross-origin."""
    require_nginx()
    async with running_server(node_settings(tmp_path / "node")) as node:
        https = free_port()
        site = render(
            SINGLE_CONF.read_text(),
            {
                **common_replacements(tmp_path),
                "127.0.0.1:8080": node.url.removeprefix("http://"),
                "listen 443 ssl": f"listen 127.0.0.1:{https} ssl",
            },
        )
        with running_nginx(nginx_prefix(tmp_path, site), https):
            origin = f"https://127.0.0.1:{https}"
            token = node.token("lawyer-1", hearing=HEARING_B)
            assert await socketio_outcome(origin, "/socket.io", token) == "connected"


async def test_nginx_routes_node_paths_to_that_node(tmp_path: Path) -> None:
    """/node/tyndau-1/ reaches node a, /node/tyndau-2/ node b (HTTP and Socket.IO)."""
    require_nginx()
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(running_server(node_settings(tmp_path / "a")))
        b = await stack.enter_async_context(running_server(node_settings(tmp_path / "b")))
        https = free_port()
        ports = {"tyndau-1": int(a.url.rsplit(":", 1)[1]), "tyndau-2": int(b.url.rsplit(":", 1)[1])}
        site = cluster_site(tmp_path, https, ports)
        main = nginx_prefix(tmp_path, site)
        stack.enter_context(running_nginx(main, https))
        origin = f"https://127.0.0.1:{https}"
        await check_routes(origin, a, b)
        access_log = (tmp_path / "access.log").read_text()
        assert "/node/tyndau-2/socket.io/" in access_log


async def check_routes(origin: str, a: RunningServer, b: RunningServer) -> None:
    # Each node made its own signing key: the key set says which node answered.
    connector = aiohttp.TCPConnector(ssl=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        kids_a = await kid_of(session, f"{a.url}/.well-known/jwks.json")
        kids_b = await kid_of(session, f"{b.url}/.well-known/jwks.json")
        assert kids_a != kids_b
        for _ in range(3):  # not once by luck of the balancer
            assert await kid_of(session, f"{origin}/node/tyndau-1/.well-known/jwks.json") == kids_a
            assert await kid_of(session, f"{origin}/node/tyndau-2/.well-known/jwks.json") == kids_b
        async with session.get(f"{origin}/node/tyndau-2/healthz") as response:
            assert response.status == 200
            assert await response.json() == {"status": "ok"}
            assert "max-age=" in response.headers["Strict-Transport-Security"]
        async with session.get(f"{origin}/node/tyndau-9/healthz") as response:
            assert response.status == 404  # no such node: never another one
        async with session.get(f"{origin}/node/tyndau-1/metrics") as response:
            assert response.status == 403
        # Everything else goes to some node.
        assert await kid_of(session, f"{origin}/.well-known/jwks.json") in (kids_a, kids_b)
        async with session.get(f"{origin}/readyz") as response:
            assert response.status == 200
    # Socket.IO through /node/tyndau-2/: node b accepts its own token; node a's key is
    # unknown there (token_invalid) — so the WebSocket reached b, not a.
    path = "/node/tyndau-2/socket.io"
    assert await socketio_outcome(origin, path, b.token("ba", hearing=HEARING_B)) == "connected"
    assert await socketio_outcome(origin, path, a.token("ab", hearing=HEARING_B)) == "token_invalid"
    path = "/node/tyndau-1/socket.io"
    assert await socketio_outcome(origin, path, a.token("aa", hearing=HEARING_B)) == "connected"


async def refusal(origin: str, path: str, token: str) -> dict[str, Any] | None:
    """Connect through ``path`` as a page of ``origin`` would (its Origin header, which
    Engine.IO checks against the host it was asked for): None when connected, else
    the refusal's data."""
    client = socketio.AsyncClient(reconnection=False, ssl_verify=False)
    refused: list[Any] = []
    client.on("connect_error", refused.append, namespace=NAMESPACE)
    try:
        await client.connect(
            origin,
            headers={"Origin": origin},
            socketio_path=path,
            namespaces=[NAMESPACE],
            transports=["websocket"],
            auth={"token": token},
            wait_timeout=10,
        )
    except socketio.exceptions.ConnectionError:
        assert refused, "refused without a reason"
        reason = refused[0]
        if isinstance(reason, dict) and isinstance(reason.get("data"), dict):
            return dict(reason["data"])  # the node's own refusal, with its code
        # Refused before the namespace (Engine.IO: a cross-origin connect, a proxy error).
        return {"code": "transport_refused", "message": str(reason)}
    finally:
        await client.disconnect()
    return None


def cluster_site(tmp_path: Path, https: int, ports: dict[str, int]) -> str:
    return render(
        CLUSTER_CONF.read_text(),
        {
            **common_replacements(tmp_path),
            "127.0.0.1:8081": f"127.0.0.1:{ports['tyndau-1']}",
            "127.0.0.1:8082": f"127.0.0.1:{ports['tyndau-2']}",
            "listen 443 ssl": f"listen 127.0.0.1:{https} ssl",
            "listen 80;": f"listen 127.0.0.1:{free_port()};",
        },
    )


async def test_a_wrong_node_redirect_is_followed_through_nginx(
    tmp_path: Path, postgres_server: PostgresServer, redis_url: str
) -> None:
    """Two nodes sharing PostgreSQL and Redis, with TYNDAU_NODE_URL on the public origin
    as deployed: a connect through the other node's path is refused with ``wrong_node``
    and a node URL that, through nginx, reaches the hearing's node."""
    require_nginx()
    database_url = postgres_server.url(postgres_server.create_database())
    https = free_port()
    origin = f"https://127.0.0.1:{https}"
    ports = {"tyndau-1": free_port(), "tyndau-2": free_port()}
    nodes: dict[str, RunningServer] = {}
    async with AsyncExitStack() as stack:
        for node_id, port in ports.items():
            directory = tmp_path / node_id
            if nodes:  # the same signing keys on every node, as deployed
                shutil.copytree(tmp_path / "tyndau-1" / "keys", directory / "keys")
            settings = Settings(
                data_dir=directory,
                port=port,
                node_id=node_id,
                node_url=f"{origin}/node/{node_id}",
                database_url=database_url,
                redis_url=redis_url,
                ice_host_addresses=["127.0.0.1"],
                log_format="console",
                log_level="warning",
                recording_enabled=False,
                trusted_proxies=["127.0.0.1"],
            )
            nodes[node_id] = await stack.enter_async_context(running_server(settings, port))
        stack.enter_context(
            running_nginx(nginx_prefix(tmp_path, cluster_site(tmp_path, https, ports)), https)
        )
        token = nodes["tyndau-1"].token("lawyer-1", hearing=HEARING_A)
        outcomes = {
            node_id: await refusal(origin, f"/node/{node_id}/socket.io", token) for node_id in ports
        }
        served = [node_id for node_id, refused in outcomes.items() if refused is None]
        assert len(served) == 1, outcomes  # one hearing, one node
        other = next(node_id for node_id in ports if node_id not in served)
        redirect = outcomes[other]
        assert redirect is not None
        assert redirect["code"] == "wrong_node"
        assert redirect["node_url"] == f"{origin}/node/{served[0]}"
        # The client's rule: Socket.IO at the node URL's path + /socket.io/.
        path = redirect["node_url"].removeprefix(origin) + "/socket.io"
        assert await refusal(origin, path, token) is None
        # And the entry (any node) sends there too, or is there.
        entry = await refusal(origin, "/socket.io", token)
        assert entry is None or entry["node_url"] == redirect["node_url"]


def test_compose_config_renders(tmp_path: Path) -> None:
    """Compose itself accepts the file: the plugin where it exists, else Debian's docker-compose.

    Debian's ``docker-compose`` (1.29, installed by scripts/test.sh) checks the
    same service schema but predates the top-level ``name`` key, so it is given
    the file without it (in the project directory, for the relative paths).
    """
    docker = shutil.which("docker")
    plugin = (
        docker is not None
        and subprocess.run(
            [docker, "compose", "version"], capture_output=True, check=False
        ).returncode
        == 0
    )
    compose_file = DEPLOY / "compose.yaml"
    if plugin:
        command = [docker or "docker", "compose", "-f", str(compose_file)]
    else:
        legacy = shutil.which("docker-compose")
        if legacy is None:
            pytest.fail("neither `docker compose` nor docker-compose: run scripts/test.sh")
        document = yaml.safe_load(compose_file.read_text())
        assert document.pop("name") == "tyndau"
        unnamed = tmp_path / "compose.yaml"
        unnamed.write_text(yaml.safe_dump(document, sort_keys=False))
        command = [legacy, "--project-directory", str(DEPLOY), "-f", str(unnamed)]
    env = {
        **os.environ,
        "PUBLIC_HOST": "hearings.example.court.kz",
        "TURN_HOST": "turn.example.court.kz",
        "ICE_ADDRESS": "198.51.100.10",
        "SECRETS_DIR": str(tmp_path),
        "TLS_DIR": str(tmp_path),
        "TURN_TLS_DIR": str(tmp_path),
    }
    for name in ("postgres-password", "turn-secret"):
        (tmp_path / name).write_text("x")
    result = subprocess.run(
        [*command, "config", "--quiet"], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    # And a missing deployment value is an error, not an empty string.
    del env["TURN_HOST"]
    result = subprocess.run(
        [*command, "config", "--quiet"], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode != 0 and "TURN_HOST" in result.stderr
