"""`flask backup`: a consistent archive taken while the app writes, restored all or nothing."""

from __future__ import annotations

import io
import json
import tarfile
import threading
import time
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask

from app import create_app, schema
from app.accounts.models import LoginFailure
from app.db import unit_of_work
from app.maintenance import databases
from app.maintenance.databases import BackupError

WORKBOOK = b"PK\x03\x04 an archived workbook"
REPORT = b"PK\x03\x04 a status report"
WRITER_MAX_ROWS = 5000
WRITER_MAX_SECONDS = 30


class Writer(threading.Thread):
    """Keeps inserting rows, each in its own transaction, until stopped (bounded in both)."""

    def __init__(self, app: Flask) -> None:
        super().__init__(name="backup-test-writer", daemon=True)
        self.app = app
        self.inserted = 0
        self.error: BaseException | None = None
        self.running = threading.Event()
        self.stop = threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + WRITER_MAX_SECONDS
        try:
            with self.app.app_context():
                while not self.stop.is_set() and self.inserted < WRITER_MAX_ROWS:
                    if time.monotonic() > deadline:
                        break
                    with unit_of_work() as session:
                        session.add(LoginFailure(throttle_key=f"writer:{self.inserted}"))
                    self.inserted += 1
                    if self.inserted >= 5:
                        self.running.set()
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.error = exc
        finally:
            self.running.set()


def _app_at(database_url: str, root: Path) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret-key",
            "INSTANCE_PATH": str(root / "instance"),
            "STORAGE_DIR": str(root / "imports"),
            "REPORTS_DIR": str(root / "reports"),
        }
    )


def _store_files(app: Flask) -> None:
    archive = Path(app.config["STORAGE_DIR"], "archive")
    archive.mkdir(parents=True)
    (archive / "ab12.xlsx").write_bytes(WORKBOOK)
    Path(app.config["STORAGE_DIR"], "inbox").mkdir()
    Path(app.config["STORAGE_DIR"], "inbox", ".gitkeep").write_bytes(b"")
    Path(app.config["REPORTS_DIR"]).mkdir(parents=True)
    Path(app.config["REPORTS_DIR"], "RSO-status-report.xlsx").write_bytes(REPORT)


def _plain_failure(result: Result, *words: str) -> str:
    """A refusal: exit code 1, a message naming the problem, and no traceback."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.output
    return result.output


def _back_up(app: Flask, to: Path) -> Path:
    result = app.test_cli_runner().invoke(args=["backup", "create", "--to", str(to)])
    assert result.exit_code == 0, result.output
    (archive,) = to.glob("rso-backup-*.tar.gz")
    assert f"backup written: {archive}" in result.output
    return archive


def _manifest(archive: Path) -> dict:
    with tarfile.open(archive) as tar:
        member = tar.extractfile("manifest.json")
        assert member is not None
        return json.load(member)


def _state(app: Flask) -> tuple[str | None, dict[str, int]]:
    with app.app_context(), app.extensions["db_engine"].connect() as connection:
        return databases.state_of(connection)


def _rewrite(archive: Path, target: Path, change) -> Path:
    """A copy of the archive with some members changed by ``change(name, bytes)``."""
    with tarfile.open(archive) as source, tarfile.open(target, "w:gz") as copy:
        for member in source:
            content = source.extractfile(member).read()  # type: ignore[union-attr]
            content = change(member.name, content)
            member.size = len(content)
            copy.addfile(member, io.BytesIO(content))
    return target


@pytest.fixture
def fresh(empty_database_url: str, tmp_path: Path):
    """An app over an empty database and empty folders: where a backup is restored."""
    application = _app_at(empty_database_url, tmp_path / "fresh")
    yield application
    application.extensions["db_engine"].dispose()


def test_a_backup_taken_while_writing_restores_intact_elsewhere(seeded, fresh, tmp_path) -> None:
    _store_files(seeded)
    writer = Writer(seeded)
    writer.start()
    try:
        assert writer.running.wait(timeout=WRITER_MAX_SECONDS)
        archive = _back_up(seeded, tmp_path / "backups")
    finally:
        writer.stop.set()
        writer.join(timeout=WRITER_MAX_SECONDS)
    assert not writer.is_alive() and writer.error is None
    manifest = _manifest(archive)
    counts = manifest["database"]["row_counts"]
    assert 5 <= counts["login_failure"] <= writer.inserted
    assert counts["initiative"] > 0 and counts["indicator"] > 0
    assert manifest["database"]["migration_revision"] == schema.head_revision()
    assert set(manifest["files"]) == {
        "imports/archive/ab12.xlsx",
        "imports/inbox/.gitkeep",
        "reports/RSO-status-report.xlsx",
    }

    result = fresh.test_cli_runner().invoke(args=["backup", "restore", str(archive)])

    assert result.exit_code == 0, result.output
    assert f"restored {archive}" in result.output
    revision, restored_counts = _state(fresh)
    assert revision == schema.head_revision()
    assert restored_counts == counts
    if databases.backend_of(fresh.config["DATABASE_URL"]) == "sqlite":
        with fresh.extensions["db_engine"].connect() as connection:
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    assert Path(fresh.config["STORAGE_DIR"], "archive", "ab12.xlsx").read_bytes() == WORKBOOK
    assert Path(fresh.config["REPORTS_DIR"], "RSO-status-report.xlsx").read_bytes() == REPORT


def test_verify_reads_an_archive_without_restoring_it(seeded, tmp_path) -> None:
    archive = _back_up(seeded, tmp_path / "backups")
    result = seeded.test_cli_runner().invoke(args=["backup", "verify", str(archive)])
    assert result.exit_code == 0, result.output
    assert "intact" in result.output and f"migration {schema.head_revision()}" in result.output


def test_a_target_holding_data_is_replaced_only_with_force(seeded, tmp_path) -> None:
    _store_files(seeded)
    archive = _back_up(seeded, tmp_path / "backups")
    with seeded.app_context(), unit_of_work() as session:
        session.add(LoginFailure(throttle_key="after the backup"))
    Path(seeded.config["STORAGE_DIR"], "archive", "later.xlsx").write_bytes(b"later")
    before = _state(seeded)
    runner = seeded.test_cli_runner()

    refused = runner.invoke(args=["backup", "restore", str(archive)])

    _plain_failure(refused, "already holds data", "--force")
    assert _state(seeded) == before
    assert Path(seeded.config["STORAGE_DIR"], "archive", "later.xlsx").exists()

    forced = runner.invoke(args=["backup", "restore", str(archive), "--force"])

    assert forced.exit_code == 0, forced.output
    assert _state(seeded)[1] == _manifest(archive)["database"]["row_counts"]
    assert not Path(seeded.config["STORAGE_DIR"], "archive", "later.xlsx").exists()
    assert "kept at" in forced.output
    kept = [
        Path(line.split("kept at ")[1].split(";")[0])
        for line in forced.output.splitlines()
        if "kept at" in line
    ]
    (imports_kept,) = [path for path in kept if path.name.startswith("imports.before-restore")]
    assert (imports_kept / "archive" / "later.xlsx").read_bytes() == b"later"


def test_a_tampered_file_is_refused_and_the_target_left_alone(seeded, fresh, tmp_path) -> None:
    _store_files(seeded)
    archive = _back_up(seeded, tmp_path / "backups")
    tampered = _rewrite(
        archive,
        tmp_path / "tampered.tar.gz",
        lambda name, content: b"changed" if name.endswith("ab12.xlsx") else content,
    )

    result = fresh.test_cli_runner().invoke(args=["backup", "restore", str(tampered)])

    _plain_failure(result, "nothing restored", "imports/archive/ab12.xlsx", "SHA-256")
    assert not databases.holds_data(fresh.config["DATABASE_URL"])
    assert not Path(fresh.config["STORAGE_DIR"]).exists()


def test_counts_that_do_not_match_the_manifest_stop_the_restore(seeded, fresh, tmp_path) -> None:
    archive = _back_up(seeded, tmp_path / "backups")

    def claim_one_more_initiative(name: str, content: bytes) -> bytes:
        if name != "manifest.json":
            return content
        manifest = json.loads(content)
        manifest["database"]["row_counts"]["initiative"] += 1
        return json.dumps(manifest).encode()

    wrong = _rewrite(archive, tmp_path / "wrong.tar.gz", claim_one_more_initiative)
    result = fresh.test_cli_runner().invoke(args=["backup", "restore", str(wrong)])

    _plain_failure(result, "row counts differ from the manifest", "initiative")
    assert not databases.holds_data(fresh.config["DATABASE_URL"])
    assert not Path(fresh.config["STORAGE_DIR"]).exists()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"not a tar file at all", ["not a readable backup archive"]),
        (None, ["does not exist"]),
    ],
    ids=["garbage", "missing"],
)
def test_a_file_that_is_no_backup_is_refused_plainly(
    fresh, tmp_path, content: bytes | None, words: list[str]
) -> None:
    path = tmp_path / "backup.tar.gz"
    if content is not None:
        path.write_bytes(content)
    result = fresh.test_cli_runner().invoke(args=["backup", "restore", str(path)])
    _plain_failure(result, "nothing restored", *words)


def test_an_archive_with_a_path_outside_its_folders_is_refused(fresh, tmp_path) -> None:
    path = tmp_path / "evil.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("../outside.txt")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    result = fresh.test_cli_runner().invoke(args=["backup", "restore", str(path)])
    _plain_failure(result, "unexpected entry", "../outside.txt")
    assert not (tmp_path / "outside.txt").exists()


def test_without_pg_dump_postgresql_says_so_and_sqlite_needs_none(
    app, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setattr(databases, "PG_BIN_GLOB", str(tmp_path / "no-postgresql" / "*" / "bin"))
    result = app.test_cli_runner().invoke(args=["backup", "create", "--to", str(tmp_path / "b")])
    if databases.backend_of(app.config["DATABASE_URL"]) == "postgresql":
        _plain_failure(result, "no backup written", "pg_dump was not found", "postgresql-client")
        assert not list((tmp_path / "b").glob("*.tar.gz"))
    else:
        assert result.exit_code == 0, result.output


def test_the_postgresql_tools_are_found_under_the_distribution_folder(tmp_path) -> None:
    for version in ("13", "15"):
        folder = tmp_path / "postgresql" / version / "bin"
        folder.mkdir(parents=True)
        (folder / "pg_dump").write_text("#!/bin/sh\n")
        (folder / "pg_dump").chmod(0o755)
    found = databases.find_pg_tool(
        "pg_dump", search_path=str(tmp_path / "empty"), bin_glob=str(tmp_path / "postgresql/*/bin")
    )
    assert found == str(tmp_path / "postgresql" / "15" / "bin" / "pg_dump")
    with pytest.raises(BackupError, match="pg_restore was not found"):
        databases.find_pg_tool(
            "pg_restore",
            search_path=str(tmp_path / "empty"),
            bin_glob=str(tmp_path / "postgresql/*/bin"),
        )
