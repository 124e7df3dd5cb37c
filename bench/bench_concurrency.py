"""Do uploads from different member states block each other? (issue 8: never for over a second)

Each run, on gunicorn over 127.0.0.1: first one state uploads and commits a workbook alone (the
baseline), then every state uploads and commits at the same instant. The wait an upload suffers
is its time among the others minus the baseline's; the figure is the largest wait of a run, and
the median of the runs is reported. Preview (POST /uploads: read, check, preview) and commit
are timed apart.

    python -m bench.bench_concurrency --database sqlite --runs 5
    bash scripts/pg-test-cluster.sh python -m bench.bench_concurrency --database postgres --write
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from bench.harness import PASSWORD, Setting, add_people, machine, median, seeded_database
from bench.harness import write_section as write_benchmarks
from tests.live_gunicorn import Client, serve
from tests.workbooks import fill, valid_answers

STATES = ["THA", "MYS", "IDN", "MMR"]
PERIOD_INDEX = 7  # 2025-Q3 in the seeded plan (the upload page's default choice)
WAIT_S = 120


@dataclass
class Timing:
    preview_s: float
    commit_s: float

    @property
    def total_s(self) -> float:
        return self.preview_s + self.commit_s


class Reporter:
    """One focal point with a template of their own, able to upload new figures each time."""

    def __init__(self, url: str, email: str, period_id: int) -> None:
        self.client = Client(url)
        self.client.sign_in(email, PASSWORD)
        self.template = self.client.get(f"/uploads/template?period_id={period_id}").body
        self.answers = valid_answers(self.template)
        self.token = self.client.get("/uploads").csrf_token()

    def workbook(self, version: int) -> bytes:
        """New figures each time, so that every upload has something to commit."""
        changed = {
            code: {**cells, "Narrative": f"Figures, version {version}"}
            for code, cells in self.answers.items()
        }
        return fill(self.template, changed)

    def upload(self, workbook: bytes, start: threading.Barrier | None = None) -> Timing:
        if start is not None:
            start.wait(timeout=WAIT_S)
        began = time.perf_counter()
        preview = self.client.post(
            "/uploads",
            {"csrf_token": self.token},
            files={"workbook": ("report.xlsx", workbook)},
            headers={"HX-Request": "true"},
        )
        previewed = time.perf_counter()
        if preview.status != 200 or "/commit" not in preview.text:
            raise SystemExit(f"the upload was refused ({preview.status}): {preview.text[:300]}")
        upload_id = int(preview.text.split("/uploads/")[1].split("/commit")[0])
        committed = self.client.post(f"/uploads/{upload_id}/commit", {"csrf_token": self.token})
        if committed.status != 303:
            raise SystemExit(f"the commit was refused ({committed.status})")
        return Timing(previewed - began, time.perf_counter() - previewed)


def _period_id(client: Client) -> int:
    page = client.get("/uploads").text
    options = page.split('name="period_id"')[1].split("</select>")[0].split('<option value="')
    return int(options[PERIOD_INDEX].split('"')[0])


def run_once(reporters: list[Reporter], version: int) -> tuple[Timing, list[Timing]]:
    alone = reporters[0].upload(reporters[0].workbook(version))
    start = threading.Barrier(len(reporters))
    books = [r.workbook(version + 1) for r in reporters]
    with ThreadPoolExecutor(max_workers=len(reporters)) as pool:
        futures = [
            pool.submit(r.upload, book, start) for r, book in zip(reporters, books, strict=True)
        ]
        together = [future.result(timeout=WAIT_S) for future in futures]
    return alone, together


def measure(setting: Setting, runs: int, workers: int, threads: int) -> dict[str, float]:
    emails = add_people(setting, ["focal_point"], list(STATES))
    with serve(setting.database_url, setting.root, workers=workers, threads=threads) as server:
        probe = Client(server.url)
        probe.sign_in(emails[0], PASSWORD)
        period_id = _period_id(probe)
        reporters = [Reporter(server.url, email, period_id) for email in emails]
        reporters[0].upload(reporters[0].workbook(0))  # warm up: first requests load code
        results = [run_once(reporters, 10 * (run + 1)) for run in range(runs)]
    return {
        "rows": float(len(reporters[0].answers)),
        "baseline_preview": median([alone.preview_s for alone, _ in results]),
        "baseline_commit": median([alone.commit_s for alone, _ in results]),
        "baseline_total": median([alone.total_s for alone, _ in results]),
        "together_preview": median([max(t.preview_s for t in tog) for _, tog in results]),
        "together_commit": median([max(t.commit_s for t in tog) for _, tog in results]),
        "together_total": median([max(t.total_s for t in tog) for _, tog in results]),
        "wait": median([max(t.total_s for t in tog) - alone.total_s for alone, tog in results]),
    }


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _row(label: str, f: dict[str, str], prefix: str) -> str:
    return (
        f"| {label} | {f[prefix + '_preview']} | {f[prefix + '_commit']} | {f[prefix + '_total']} |"
    )


def table(figures: dict[str, float], setting: Setting) -> str:
    verdict = "under" if figures["wait"] < 1.0 else "OVER"
    f = {key: _ms(value) for key, value in figures.items()}
    return f"""### {setting.server_version}

| | preview (POST /uploads) | commit | whole upload |
|---|---|---|---|
{_row("one state alone (baseline)", f, "baseline")}
{_row(f"slowest of {len(STATES)} at once", f, "together")}

Largest wait an upload suffered from the others (slowest of the {len(STATES)} minus the
baseline): **{f["wait"]}**, {verdict} the one second issue 8 allows.
"""


def report(tables: list[str], rows: int, args: argparse.Namespace) -> str:
    return (
        f"""Uploads from {len(STATES)} member states ({", ".join(STATES)}) at the same instant,
each a full template ({rows} indicator rows, new figures every time) previewed then committed,
against one state's upload alone in the same run. gunicorn {args.workers} workers x
{args.threads} threads (deploy/gunicorn.conf.py) on 127.0.0.1; the clients are threads of the
benchmark process on the same machine. Median of {args.runs} runs. On {os.cpu_count()} cores
the uploads share the CPU with each other and with the clients, so part of any wait is the
machine, not locking: different states never write the same rows. PostgreSQL is the
throwaway test cluster of scripts/pg-test-cluster.sh (fsync off): commits cost less there than
on a durable server.

"""
        + "\n".join(tables)
        + f"""
Machine: {machine()}.
Reproduce: `{args.command}`
"""
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database", nargs="+", choices=["sqlite", "postgres"], default=["sqlite"])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--write", action="store_true", help="write docs/BENCHMARKS.md")
    args = parser.parse_args()
    args.runs = max(1, min(args.runs, 20))  # bounded
    wrapper = "bash scripts/pg-test-cluster.sh " if "postgres" in args.database else ""
    args.command = (
        f"{wrapper}.venv/bin/python -m bench.bench_concurrency "
        f"--database {' '.join(args.database)} --runs {args.runs} --write"
    )
    tables, rows = [], 0
    for backend in args.database:
        with seeded_database(backend) as setting:
            figures = measure(setting, args.runs, args.workers, args.threads)
            tables.append(table(figures, setting))
            rows = int(figures["rows"])
    text = report(tables, rows, args)
    print(text)
    if args.write:
        write_benchmarks("Concurrency", text)


if __name__ == "__main__":
    main()
