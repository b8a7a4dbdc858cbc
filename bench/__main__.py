"""`make bench`: build (once) the benchmark databases, then print every figure with its goal.

BENCH_ONLY=search,compose,conversations,dashboard,anatomy,dispatch,memory,exports,load,weight,
reliability runs a subset;
BENCH_RESTART_POSTGRES=1 lets the reliability run restart the PostgreSQL server mid-run;
BENCH_CANDIDATES sets the size (default 1,000,000); PostgreSQL figures need BENCH_DATABASE_URL or
TEST_DATABASE_URL.
"""

from __future__ import annotations

import os
import time

from bench import anatomy, compose, conversations, dashboard, data, dispatch, load, search
from bench.report import Figure, show

SECTIONS = (
    "search",
    "compose",
    "conversations",
    "dashboard",
    "anatomy",
    "dispatch",
    "memory",
    "exports",
    "load",
    "weight",
    "reliability",
)


def main() -> None:
    only = {part.strip() for part in os.environ.get("BENCH_ONLY", "").split(",") if part.strip()}
    wanted = [name for name in SECTIONS if not only or name in only]
    started = time.perf_counter()
    kinds = ["sqlite"] + (["postgresql"] if data.postgres_url() else [])
    print(f"SMS Desk benchmarks — {data.CANDIDATES:,} candidates; databases: {', '.join(kinds)}")
    print(f"{'figure':<76} {'value':>12} {'unit':<7} goal")
    urls = {}
    if {"search", "compose", "conversations", "dashboard", "anatomy", "load"} & set(wanted):
        for kind in kinds:
            url, seconds, built = data.database(kind)
            urls[kind] = url
            note = "" if built else " (when the cache was built)"
            show(
                Figure(
                    f"seed of {data.CANDIDATES:,} candidates [{kind}]{note}", seconds, "s", "≤ 60"
                )
            )
    for kind, url in urls.items():
        if "search" in wanted:
            search.run(kind, url)
        if "compose" in wanted:
            compose.run(kind, url)
        if "conversations" in wanted:
            conversations.run(kind, url)
        if "dashboard" in wanted:
            dashboard.run(kind, url)
        if "anatomy" in wanted:
            anatomy.run(kind, url)
    if "dispatch" in wanted or "memory" in wanted:
        data.CACHE.mkdir(exist_ok=True)  # a dispatch-only run has not made it yet
        sqlite_url = f"sqlite:///{data.CACHE / 'dispatch.sqlite3'}"
        postgres_url = _dispatch_postgres()
        if "dispatch" in wanted:
            dispatch.run(sqlite_url, postgres_url)
        if "memory" in wanted:
            dispatch.memory(postgres_url or sqlite_url)
    if "exports" in wanted:
        from bench import exports

        exports.run_all()  # its own databases, on SQLite and (when configured) PostgreSQL
    if "reliability" in wanted:
        postgres_url = _dispatch_postgres()  # SIGKILLs and a PostgreSQL restart: PostgreSQL only
        if postgres_url is None:
            print("reliability: needs BENCH_DATABASE_URL or TEST_DATABASE_URL (PostgreSQL)")
        else:
            from bench import reliability

            # Restarting PostgreSQL affects everything else using that server: only when asked.
            reliability.run(
                postgres_url, restart_postgres=os.environ.get("BENCH_RESTART_POSTGRES") == "1"
            )
    if "load" in wanted:
        load.floor()
        for kind, url in urls.items():
            load.run(kind, url)
    if "weight" in wanted:
        try:
            from bench import page_weight
        except ImportError:
            print("page weight: bench/page_weight.py not present")
        else:
            for name, value, unit, goal in page_weight.measure():
                show(Figure(name, value, unit, goal))
    print(f"(benchmarks took {time.perf_counter() - started:,.0f} s)")


def _dispatch_postgres() -> str | None:
    url = data.postgres_url()
    if url is None:
        return None
    import sqlalchemy as sa

    target = sa.engine.make_url(url).set(database="smsdesk_bench_dispatch")
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql('DROP DATABASE IF EXISTS "smsdesk_bench_dispatch" WITH (FORCE)')
        connection.exec_driver_sql('CREATE DATABASE "smsdesk_bench_dispatch"')
    admin.dispose()
    return target.render_as_string(hide_password=False)


if __name__ == "__main__":
    main()
