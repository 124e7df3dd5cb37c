"""Backups: the database and the stored files in one archive with a manifest, and restoring one.

An archive is a .tar.gz holding ``manifest.json``, the database dump (``database.sqlite3`` or
``database.pgdump``) and the files of STORAGE_DIR (under ``imports/``: uploaded workbooks, the
inbox) and REPORTS_DIR (under ``reports/``). The manifest names the app version, the migration
revision, the row count of every table, when it was made, and the SHA-256 of every part.

A restore checks everything before it touches the target: the archive against its manifest,
the database restored into a scratch place (integrity, head migration, row counts), the files
unpacked beside their folders. Only then are the database and the folders put in place, and a
failure at that last step puts back what was there.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy.engine import make_url

from app import schema
from app.maintenance import databases
from app.maintenance.databases import BackupError

FORMAT = 1
MANIFEST = "manifest.json"
DATABASE_PARTS = {"sqlite": databases.SQLITE_PART, "postgresql": databases.POSTGRES_PART}
CHUNK = 1024 * 1024


@dataclass
class Places:
    """Where the app keeps its data: the database, and each folder under its archive name."""

    database_url: str
    folders: dict[str, Path]

    @classmethod
    def from_config(cls, config: Any) -> Places:
        return cls(
            database_url=config["DATABASE_URL"],
            folders={
                "imports": Path(config["STORAGE_DIR"]),
                "reports": Path(config["REPORTS_DIR"]),
            },
        )


@dataclass
class Backup:
    path: Path
    manifest: dict[str, Any]

    def summary(self) -> str:
        database = self.manifest["database"]
        rows = sum(database["row_counts"].values())
        return (
            f"{len(database['row_counts'])} tables, {rows} rows, "
            f"{len(self.manifest['files'])} files, migration {database['migration_revision']}"
        )


@dataclass
class Restored:
    manifest: dict[str, Any]
    kept: list[str] = field(default_factory=list)  # where the replaced data was put aside

    def summary(self) -> str:
        return Backup(Path(), self.manifest).summary()


def app_version() -> str:
    try:
        return metadata.version("rso-tracker")
    except metadata.PackageNotFoundError:
        return "unknown"


def _now_stamp(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ")


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# -- creating ----------------------------------------------------------------------------------


def create_backup(places: Places, to_dir: Path, *, now: datetime | None = None) -> Backup:
    """Back up the database and the stored files into a new archive in ``to_dir``.

    The database is dumped consistently while the app keeps running; the archive appears under
    its final name only once it is complete.
    """
    now = now or datetime.now(UTC)
    to_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".rso-backup-", dir=to_dir) as work:
        state = databases.dump(places.database_url, Path(work))
        part = Path(work) / DATABASE_PARTS[state.backend]
        manifest = _new_manifest(state, part, now)
        partial = Path(work) / "archive.tar.gz"
        with tarfile.open(partial, "w:gz") as archive:
            archive.add(part, arcname=part.name, recursive=False)
            for name, folder in places.folders.items():
                manifest["files"].update(_add_folder(archive, name, folder))
            _add_bytes(archive, MANIFEST, json.dumps(manifest, indent=2).encode())
        target = _free_name(to_dir, f"rso-backup-{_now_stamp(now)}", ".tar.gz")
        os.replace(partial, target)
    return Backup(target, manifest)


def _new_manifest(state: databases.DatabaseState, part: Path, now: datetime) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "app": "rso-tracker",
        "app_version": app_version(),
        "created_at": now.isoformat(timespec="seconds"),
        "database": {
            "backend": state.backend,
            "part": part.name,
            "sha256": _sha256_of(part),
            "size": part.stat().st_size,
            "migration_revision": state.revision,
            "row_counts": state.row_counts,
        },
        "files": {},
    }


def _add_folder(archive: tarfile.TarFile, name: str, folder: Path) -> dict[str, dict]:
    """Add every file under ``folder`` as ``name/...``; returns their manifest entries."""
    entries: dict[str, dict] = {}
    if not folder.is_dir():
        return entries
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        arcname = f"{name}/{path.relative_to(folder).as_posix()}"
        # Read once: the bytes hashed are the bytes archived, even if the file is being replaced.
        content = path.read_bytes()
        _add_bytes(archive, arcname, content)
        entries[arcname] = {"sha256": hashlib.sha256(content).hexdigest(), "size": len(content)}
    return entries


def _add_bytes(archive: tarfile.TarFile, name: str, content: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(content)
    info.mtime = int(datetime.now(UTC).timestamp())
    info.mode = 0o600
    archive.addfile(info, io.BytesIO(content))


def _free_name(folder: Path, stem: str, suffix: str) -> Path:
    candidate, number = folder / f"{stem}{suffix}", 1
    while candidate.exists():
        number += 1
        candidate = folder / f"{stem}-{number}{suffix}"
    return candidate


# -- reading an archive ------------------------------------------------------------------------


def unpack(archive_path: Path, into: Path) -> dict[str, Any]:
    """Unpack an archive into ``into`` and check every part against the manifest.

    Only plain files under the expected names are accepted: an archive is input from outside.
    """
    if not archive_path.is_file():
        raise BackupError(f"{archive_path} does not exist or is not a file")
    try:
        with tarfile.open(archive_path, "r:gz") as archive:
            names = [_unpack_member(archive, member, into) for member in _members(archive)]
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise BackupError(f"{archive_path} is not a readable backup archive ({exc})") from exc
    if MANIFEST not in names:
        raise BackupError(f"{archive_path} has no {MANIFEST}: it is not a backup made by this app")
    manifest = _read_manifest(into / MANIFEST)
    _check_parts(manifest, into, set(names) - {MANIFEST})
    return manifest


def _members(archive: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    for member in archive:
        if member.isdir():
            continue
        path = PurePosixPath(member.name)
        allowed_top = {MANIFEST, *DATABASE_PARTS.values(), "imports", "reports"}
        if (
            not member.isfile()
            or path.is_absolute()
            or ".." in path.parts
            or path.parts[0] not in allowed_top
        ):
            raise BackupError(f"the archive holds an unexpected entry: {member.name!r}")
        yield member


def _unpack_member(archive: tarfile.TarFile, member: tarfile.TarInfo, into: Path) -> str:
    target = into.joinpath(*PurePosixPath(member.name).parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    source = archive.extractfile(member)
    assert source is not None  # a regular file always has content
    with target.open("wb") as stream:
        shutil.copyfileobj(source, stream, CHUNK)
    return PurePosixPath(member.name).as_posix()


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        database = manifest["database"]
        assert isinstance(manifest["files"], dict) and isinstance(database["row_counts"], dict)
        fmt, backend = manifest["format"], database["backend"]
    except (ValueError, KeyError, TypeError, AssertionError) as exc:
        raise BackupError(f"the archive's {MANIFEST} is damaged or incomplete") from exc
    if fmt != FORMAT:
        raise BackupError(f"the archive is in backup format {fmt}; this app reads format {FORMAT}")
    if DATABASE_PARTS.get(backend) != database.get("part"):
        raise BackupError(f"the archive's {MANIFEST} names an unknown database part")
    return manifest


def _check_parts(manifest: dict[str, Any], folder: Path, present: set[str]) -> None:
    expected = {manifest["database"]["part"]: manifest["database"], **manifest["files"]}
    missing = sorted(set(expected) - present)
    extra = sorted(present - set(expected))
    if missing or extra:
        raise BackupError(
            "the archive does not match its manifest: "
            + "; ".join(
                [f"missing {name}" for name in missing] + [f"not listed {name}" for name in extra]
            )
        )
    for name, entry in sorted(expected.items()):
        if _sha256_of(folder.joinpath(*PurePosixPath(name).parts)) != entry.get("sha256"):
            raise BackupError(
                f"{name} in the archive was changed: its SHA-256 is not the manifest's"
            )


def verify_archive(archive_path: Path) -> dict[str, Any]:
    """Check an archive against its manifest without restoring anything; returns the manifest."""
    with tempfile.TemporaryDirectory(prefix="rso-verify-") as work:
        return unpack(archive_path, Path(work))


# -- restoring ---------------------------------------------------------------------------------


def restore_backup(
    places: Places, archive_path: Path, *, force: bool = False, now: datetime | None = None
) -> Restored:
    """Restore an archive over the database and folders of ``places``, all or nothing.

    A target holding data is only replaced with ``force``; what it held is then kept aside
    (its names are in ``Restored.kept``).
    """
    stamp = _now_stamp(now or datetime.now(UTC))
    with tempfile.TemporaryDirectory(prefix="rso-restore-") as work:
        manifest = unpack(archive_path, Path(work))
        _check_restorable(manifest, places)
        occupied = _occupied(places)
        if occupied and not force:
            raise BackupError(
                "the target already holds data (" + ", ".join(occupied) + "): restore with "
                "--force to replace it (what it holds now is kept aside)"
            )
        staged_database = _stage_database(manifest, Path(work), places.database_url)
        try:
            staged_folders = _stage_folders(Path(work), places.folders)
        except BaseException:
            staged_database.discard()
            raise
        return _put_in_place(manifest, places, staged_database, staged_folders, stamp)


def _check_restorable(manifest: dict[str, Any], places: Places) -> None:
    database = manifest["database"]
    backend = databases.backend_of(places.database_url)
    if database["backend"] != backend:
        raise BackupError(
            f"the archive holds a {database['backend']} database; DATABASE_URL points at "
            f"{backend}: restore it into the same kind of database"
        )
    head = schema.head_revision()
    if database["migration_revision"] != head:
        raise BackupError(
            f"the archive's database is at migration {database['migration_revision']} but this "
            f"app needs {head}: restore it with the app version that made it "
            f"({manifest.get('app_version', 'unknown')}), then upgrade"
        )


def _occupied(places: Places) -> list[str]:
    found = ["the database"] if databases.holds_data(places.database_url) else []
    return found + [str(folder) for folder in places.folders.values() if _has_files(folder)]


def _has_files(folder: Path) -> bool:
    # A placeholder such as inbox/.gitkeep is not data.
    return folder.is_dir() and any(
        p.is_file() and not p.name.startswith(".") for p in folder.rglob("*")
    )


@dataclass
class _StagedDatabase:
    url: str
    sqlite_copy: Path | None = None
    scratch: str | None = None

    def discard(self) -> None:
        if self.scratch:
            databases.drop_postgres_database(self.url, self.scratch)


def _stage_database(manifest: dict[str, Any], work: Path, url: str) -> _StagedDatabase:
    database = manifest["database"]
    part = work / database["part"]
    if database["backend"] == "sqlite":
        databases.check_sqlite_copy(part, database["row_counts"])
        return _StagedDatabase(url, sqlite_copy=part)
    scratch = f"{make_url(url).database}_restore_{secrets.token_hex(4)}"[-63:]
    databases.restore_postgres_scratch(part, url, scratch, database["row_counts"])
    return _StagedDatabase(url, scratch=scratch)


def _stage_folders(work: Path, folders: dict[str, Path]) -> dict[str, Path]:
    """Move each unpacked folder beside its target, so putting it in place is a rename."""
    staged: dict[str, Path] = {}
    try:
        for name, target in folders.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            place = Path(tempfile.mkdtemp(prefix=f".{target.name}.restore-", dir=target.parent))
            staged[name] = place / target.name
            unpacked = work / name
            if unpacked.is_dir():
                shutil.move(unpacked, staged[name])
            else:
                staged[name].mkdir()
    except BaseException:
        _remove_staged(staged)
        raise
    return staged


def _remove_staged(staged: dict[str, Path]) -> None:
    for path in staged.values():
        shutil.rmtree(path.parent, ignore_errors=True)


def _put_in_place(
    manifest: dict[str, Any],
    places: Places,
    staged_database: _StagedDatabase,
    staged_folders: dict[str, Path],
    stamp: str,
) -> Restored:
    restored = Restored(manifest)
    swapped: list[tuple[Path, Path | None]] = []
    try:
        for name, target in places.folders.items():
            swapped.append((target, _swap_folder(staged_folders[name], target, stamp)))
        restored.kept += _swap_database(staged_database, stamp)
    except BaseException:
        staged_database.discard()
        _unswap_folders(swapped)
        raise
    finally:
        _remove_staged(staged_folders)
    restored.kept += [str(aside) for _target, aside in swapped if aside is not None]
    return restored


def _swap_folder(staged: Path, target: Path, stamp: str) -> Path | None:
    """Rename the target aside (kept only if it held files), then the staged folder into place."""
    aside = None
    if target.exists():
        aside = target.with_name(f"{target.name}.before-restore-{stamp}")
        target.rename(aside)
    staged.rename(target)
    if aside is not None and not _has_files(aside):
        shutil.rmtree(aside)
        return None
    return aside


def _unswap_folders(swapped: list[tuple[Path, Path | None]]) -> None:
    for target, aside in reversed(swapped):
        shutil.rmtree(target, ignore_errors=True)
        if aside is not None:
            aside.rename(target)


def _swap_database(staged: _StagedDatabase, stamp: str) -> list[str]:
    keep = databases.holds_data(staged.url)
    if staged.sqlite_copy is not None:
        target = databases.sqlite_path(staged.url)
        aside = target.with_name(f"{target.name}.before-restore-{stamp}") if keep else None
        databases.replace_sqlite(staged.sqlite_copy, staged.url, aside)
        return [str(aside)] if aside else []
    assert staged.scratch is not None
    previous = f"{make_url(staged.url).database}_before_restore_{stamp}"[-63:].lower()
    kept = databases.swap_postgres(staged.url, staged.scratch, previous, keep)
    return [f"database {kept}"] if kept else []


def default_backup_dir(instance_path: str) -> Path:
    return Path(instance_path) / "backups"
