"""Requests per second and p95 latency under a bounded load, each route against the ceiling.

gunicorn (deploy/gunicorn.conf.py, 2 workers by default) on 127.0.0.1; the load comes from a
second process: 16 clients (threads, each with its own keep-alive connection and a manager's
session) for a fixed time per route, several runs, the median reported. The ceiling is the
cheapest thing the app serves (a static file through Flask); every route is shown as a share of
it, in the same run.

    python -m bench.bench_load --database sqlite
    bash scripts/pg-test-cluster.sh python -m bench.bench_load --database postgres --write
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import re
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from bench.harness import (
    PASSWORD,
    Setting,
    add_people,
    machine,
    median,
    percentile,
    seeded_database,
)
from bench.harness import write_section as write_benchmarks
from tests.live_gunicorn import Client, serve

MAX_SECONDS_PER_RUN = 30
MAX_REQUESTS_PER_RUN = 50_000
_VERSION = re.compile(r'name="version" value="(\d+)"')
_INITIATIVE_LINK = re.compile(r'href="/initiatives/(\d+)"')


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    path: str  # for the status update: "{id}" is each client's initiative


@dataclass
class SignedIn:
    """What a client needs to act as the signed-in manager."""

    base_url: str
    cookie: str
    csrf_token: str
    initiative_ids: list[int]


def _drive_one(session: SignedIn, route: Route, index: int, stop_at: float, out: list) -> None:
    """One client: requests back to back on one keep-alive connection until the time is up."""
    address = urlsplit(session.base_url)
    assert address.hostname == "127.0.0.1"
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    # The page measured is the first initiative; saves go to the others, so that the page's
    # status history (which grows with every save) stays the same size through the runs.
    saved = session.initiative_ids[1:]
    initiative = saved[index % len(saved)]
    version: int | None = None
    headers = {"Cookie": session.cookie}
    if route.method == "POST":
        headers |= {"Content-Type": "application/x-www-form-urlencoded", "HX-Request": "true"}
    try:
        while time.monotonic() < stop_at and len(out) < MAX_REQUESTS_PER_RUN:
            body = None
            path = route.path.replace("{id}", str(initiative))
            if route.method == "POST":
                if version is None:
                    version = _current_version(connection, headers, initiative)
                body = _status_form(session.csrf_token, version, len(out))
            began = time.perf_counter()
            connection.request(route.method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read()
            out.append((time.perf_counter() - began, response.status))
            if route.method == "POST":
                found = _VERSION.search(text.decode("utf-8", "replace"))
                version = int(found.group(1)) if found else None
    finally:
        connection.close()


def _current_version(connection: http.client.HTTPConnection, headers: dict, initiative: int) -> int:
    connection.request("GET", f"/initiatives/{initiative}", headers=headers)
    page = connection.getresponse().read().decode("utf-8", "replace")
    found = _VERSION.search(page)
    assert found, "no status form on the initiative page"
    return int(found.group(1))


def _status_form(csrf_token: str, version: int, number: int) -> str:
    # Alternate between two ratings, so every save is a real change with a history row.
    rag = "on_track" if number % 2 else "at_risk"
    return urlencode(
        {
            "csrf_token": csrf_token,
            "version": str(version),
            "status": "in_progress",
            "rag": rag,
            "rag_note": "",
        }
    )


def drive(session: SignedIn, route: Route, clients: int, seconds: float) -> dict[str, float]:
    """Run in the load process: ``clients`` threads for ``seconds``; the run's figures."""
    stop_at = time.monotonic() + min(seconds, MAX_SECONDS_PER_RUN)
    results: list[tuple[float, int]] = []
    threads = [
        threading.Thread(target=_drive_one, args=(session, route, i, stop_at, results))
        for i in range(clients)
    ]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=MAX_SECONDS_PER_RUN + 60)
    elapsed = time.perf_counter() - began
    latencies = [latency for latency, _status in results]
    statuses = [status for _latency, status in results]
    return {
        "requests": len(results),
        "rps": len(results) / elapsed,
        "p95": percentile(latencies, 0.95),
        "ok": sum(1 for s in statuses if s == 200) / max(1, len(statuses)),
        "conflicts": sum(1 for s in statuses if s == 409) / max(1, len(statuses)),
    }


def _signed_in_manager(url: str, email: str) -> SignedIn:
    client = Client(url)
    client.sign_in(email, PASSWORD)
    overview = client.get("/").text
    ids = sorted({int(i) for i in _INITIATIVE_LINK.findall(overview)})
    token = client.get(f"/initiatives/{ids[0]}").csrf_token()
    cookie = "; ".join(f"{c.name}={c.value}" for c in client.cookies)
    return SignedIn(url, cookie, token, ids)


def measure(setting: Setting, args: argparse.Namespace) -> list[dict]:
    (email,) = add_people(setting, ["rso_manager"], [None])
    rows = []
    with serve(
        setting.database_url, setting.root, workers=args.workers, threads=args.threads
    ) as server:
        session = _signed_in_manager(server.url, email)
        routes = _routes(server.url, session)
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as load:
            for route in routes:  # warm up every route once
                load.submit(drive, session, route, args.clients, 1).result(timeout=120)
            runs: dict[str, list[dict]] = {route.name: [] for route in routes}
            for _run in range(args.runs):  # interleaved, so drift hits every route alike
                for route in routes:
                    figures = load.submit(drive, session, route, args.clients, args.seconds)
                    runs[route.name].append(figures.result(timeout=MAX_SECONDS_PER_RUN + 120))
    ceiling = median([r["rps"] for r in runs[routes[0].name]])
    for route in routes:
        rps = median([r["rps"] for r in runs[route.name]])
        rows.append(
            {
                "route": f"{route.method} {route.path}",
                "name": route.name,
                "rps": rps,
                "p95": median([r["p95"] for r in runs[route.name]]),
                "share": rps / ceiling,
                "ok": median([r["ok"] for r in runs[route.name]]),
                "conflicts": median([r["conflicts"] for r in runs[route.name]]),
            }
        )
    return rows


def _routes(url: str, session: SignedIn) -> list[Route]:
    routes = [
        Route("ceiling: a static file", "GET", "/static/css/print.css"),
        Route("plan overview", "GET", "/"),
        Route("initiative page", "GET", f"/initiatives/{session.initiative_ids[0]}"),
        Route("inline status update", "POST", "/initiatives/{id}/status"),
    ]
    # The summary page exists only once issue 7 is merged.
    connection = http.client.HTTPConnection("127.0.0.1", urlsplit(url).port, timeout=30)
    connection.request("GET", "/summary", headers={"Cookie": session.cookie})
    if connection.getresponse().status == 200:
        routes.insert(2, Route("summary page", "GET", "/summary"))
    connection.close()
    return routes


def table(rows: list[dict], setting: Setting) -> str:
    lines = [
        f"### {setting.server_version}",
        "",
        "| route | | requests/s | p95 | share of the ceiling | answers |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        answers = f"{row['ok']:.0%} 200"
        if row["conflicts"]:
            answers += f", {row['conflicts']:.0%} 409 (two clients on one initiative)"
        lines.append(
            f"| {row['name']} | `{row['route']}` | {row['rps']:.0f} | "
            f"{row['p95'] * 1000:.0f} ms | {row['share']:.0%} | {answers} |"
        )
    return "\n".join(lines) + "\n"


def report(tables: list[str], args: argparse.Namespace, has_summary: bool) -> str:
    summary_note = (
        ""
        if has_summary
        else " The summary page is not measured: it comes with issue 7 (another branch); "
        "rerun after merging it."
    )
    return (
        f"""gunicorn {args.workers} workers x {args.threads} threads (deploy/gunicorn.conf.py)
on 127.0.0.1; the load from a second process: {args.clients} concurrent clients, each with its
own keep-alive connection and a signed-in manager's session, {args.seconds:g} s per route per
run, routes interleaved, median of {args.runs} runs. Data: the seeded RSO Work Plan with its demo
figures (not a large synthetic plan). The load process and the server share the machine's
cores, so the ceiling is the machine's, not only the app's. The status update saves a real
change every time (alternating ratings, new history row) on the initiatives other than the
one whose page is measured; with more clients than initiatives, two clients sometimes save the
same one and one of them gets the 409 conflict.{summary_note}

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
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--write", action="store_true", help="write docs/BENCHMARKS.md")
    args = parser.parse_args()
    args.runs = max(1, min(args.runs, 10))  # bounded in count and time
    args.seconds = max(1.0, min(args.seconds, MAX_SECONDS_PER_RUN))
    args.clients = max(1, min(args.clients, 64))
    wrapper = "bash scripts/pg-test-cluster.sh " if "postgres" in args.database else ""
    args.command = (
        f"{wrapper}.venv/bin/python -m bench.bench_load --database {' '.join(args.database)} "
        f"--runs {args.runs} --seconds {args.seconds:g} --clients {args.clients} --write"
    )
    tables, has_summary = [], False
    for backend in args.database:
        with seeded_database(backend) as setting:
            rows = measure(setting, args)
            has_summary = has_summary or any(r["name"] == "summary page" for r in rows)
            tables.append(table(rows, setting))
    text = report(tables, args, has_summary)
    print(text)
    if args.write:
        write_benchmarks("Load", text)


if __name__ == "__main__":
    main()
