"""Backups: a consistent PostgreSQL dump plus the private files, with a manifest; and their restore.

A backup is one uncompressed tar file holding
  manifest.json          time, portal version and git commit, applied migrations, sha256 of each part
  database.dump          `pg_dump --format=custom` (one snapshot: consistent however busy the portal)
  private-files.tar.gz   MEDIA_ROOT (uploaded documents, report files)
The database is dumped first and the files second, so every file a restored row points to is there
(files written in between are at worst unreferenced extras).
"""

# ruff: noqa: S603, S607 — runs the operator's pg_dump/pg_restore/psql/git with fixed arguments

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.db import connection

FORMAT_VERSION = 1
DUMP_NAME = "database.dump"
FILES_NAME = "private-files.tar.gz"
MANIFEST_NAME = "manifest.json"


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why, for the operator."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pg_settings(database_url: str | None = None) -> tuple[dict[str, str], str]:
    """(environment for pg_dump/pg_restore, database name) from DATABASE_URL or the default database."""
    if database_url:
        url = urlsplit(database_url)
        if url.scheme not in ("postgres", "postgresql", "pgsql"):
            raise BackupError("Backups and restores need PostgreSQL (DATABASE_URL=postgres://...).")
        conf = {
            "HOST": url.hostname or "",
            "PORT": str(url.port or ""),
            "USER": unquote(url.username or ""),
            "PASSWORD": unquote(url.password or ""),
            "NAME": unquote(url.path.lstrip("/")),
        }
    else:
        conf = settings.DATABASES["default"]
        if conf["ENGINE"] != "django.db.backends.postgresql":
            raise BackupError("Backups and restores need PostgreSQL (DATABASE_URL=postgres://...).")
    env = dict(os.environ)
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if conf.get(key):
            env[var] = str(conf[key])
    return env, conf["NAME"]


def _git_commit() -> str:
    if os.environ.get("GIT_COMMIT"):
        return os.environ["GIT_COMMIT"]
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


def _portal_version() -> str:
    try:
        import tomllib

        with open(Path(settings.BASE_DIR) / "pyproject.toml", "rb") as handle:
            return tomllib.load(handle)["project"]["version"]
    except (OSError, KeyError, ValueError):
        return ""


def applied_migrations() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        return [f"{app}.{name}" for app, name in cursor.fetchall()]


def _counts() -> dict[str, int]:
    from programmes.models import Document, Programme
    from reports.models import ReportJob

    return {
        "programmes": Programme.objects.count(),
        "documents": Document.objects.count(),
        "report_jobs": ReportJob.objects.count(),
    }


def create_backup(output: Path) -> Path:
    """Write a backup tar file at `output` (a directory: a timestamped name inside it). Returns its path."""
    now = datetime.now(UTC)
    output = Path(output)
    if output.suffix != ".tar":  # a directory (made if missing): a timestamped name inside it
        output.mkdir(parents=True, exist_ok=True)
        output = output / f"iom-portal-backup-{now:%Y%m%dT%H%M%SZ}.tar"
    env, name = _pg_settings()
    media = Path(settings.MEDIA_ROOT)
    with tempfile.TemporaryDirectory(prefix="iom-backup-") as work:
        work_dir = Path(work)
        dump = work_dir / DUMP_NAME
        result = subprocess.run(
            ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={dump}", name],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
        files = work_dir / FILES_NAME
        count = 0
        with tarfile.open(files, "w:gz") as archive:
            if media.is_dir():
                for path in sorted(media.rglob("*")):
                    if path.is_file() and not path.name.endswith(".part"):
                        archive.add(path, arcname=str(path.relative_to(media)), recursive=False)
                        count += 1
        manifest = {
            "format": FORMAT_VERSION,
            "created_at": now.isoformat(),
            "portal_version": _portal_version(),
            "git_commit": _git_commit(),
            "database": {"engine": "postgresql", "name": name, "migrations": applied_migrations()},
            "counts": {**_counts(), "private_files": count},
            "files": {
                DUMP_NAME: {"sha256": _sha256(dump), "size": dump.stat().st_size},
                FILES_NAME: {"sha256": _sha256(files), "size": files.stat().st_size},
            },
        }
        partial = output.with_name(output.name + ".partial")
        with tarfile.open(partial, "w") as bundle:
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST_NAME)
            info.size, info.mtime = len(data), int(now.timestamp())
            bundle.addfile(info, io.BytesIO(data))
            bundle.add(dump, arcname=DUMP_NAME)
            bundle.add(files, arcname=FILES_NAME)
        os.replace(partial, output)
    return output


def read_manifest(backup: Path) -> dict:
    with tarfile.open(backup, "r") as bundle:
        member = bundle.extractfile(MANIFEST_NAME)
        if member is None:
            raise BackupError("Not a portal backup: manifest.json is missing.")
        return json.load(member)


def _database_is_empty(env: dict[str, str], name: str) -> bool:
    query = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
    result = subprocess.run(
        ["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", query, name],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(f"Cannot reach the target database: {result.stderr.strip()}")
    return result.stdout.strip() == "0"


def restore_backup(backup: Path, *, database_url: str | None = None, media_root: Path | None = None) -> dict:
    """Check the backup's checksums, restore the database into an EMPTY PostgreSQL database and the
    private files into MEDIA_ROOT. Returns the manifest."""
    backup = Path(backup)
    if not backup.is_file():
        raise BackupError(f"No such backup file: {backup}")
    manifest = read_manifest(backup)
    if manifest.get("format") != FORMAT_VERSION:
        raise BackupError(f"Unknown backup format {manifest.get('format')!r}.")
    env, name = _pg_settings(database_url)
    if not _database_is_empty(env, name):
        raise BackupError(
            f"The database {name!r} is not empty: restore into a new, empty database (createdb), never over data."
        )
    media = Path(media_root or settings.MEDIA_ROOT)
    with tempfile.TemporaryDirectory(prefix="iom-restore-") as work:
        work_dir = Path(work)
        with tarfile.open(backup, "r") as bundle:
            for part in (DUMP_NAME, FILES_NAME):
                bundle.extract(part, work_dir, filter="data")
        for part, expected in manifest["files"].items():
            if _sha256(work_dir / part) != expected["sha256"]:
                raise BackupError(f"Checksum mismatch for {part}: the backup is damaged; nothing was restored.")
        result = subprocess.run(
            [
                "pg_restore",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--dbname",
                name,
                str(work_dir / DUMP_NAME),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BackupError(f"pg_restore failed: {result.stderr.strip()}")
        media.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=media))
        try:
            with tarfile.open(work_dir / FILES_NAME, "r:gz") as archive:
                archive.extractall(staging, filter="data")  # no absolute paths, no "..", no devices
            for path in sorted(staging.rglob("*")):
                if path.is_file():
                    target = media / path.relative_to(staging)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(path, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return manifest
