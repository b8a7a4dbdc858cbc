"""Worker processes for real (SQLite and PostgreSQL): two `flask sms worker` processes share a
queue without sending anything twice; a worker killed mid-send leaves its messages `unknown`
and nobody resends them; SIGTERM stops a worker cleanly."""

from __future__ import annotations

import re
from collections import Counter

from tests.delivery import (
    SIGKILL,
    SIGTERM,
    close_all,
    flask_worker,
    insert_candidates,
    messages,
    queue,
    references,
    script_worker,
    states,
    wait_until,
    worker_env,
)
from tests.fakes import FakeSmsCentral
from webapp.models import utcnow

HANDLED = re.compile(r"stopped after handling (\d+) message")


def handled_by(process) -> int:
    match = HANDLED.search(process.output())
    assert match, f"no summary line in the worker's output:\n{process.output()}"
    return int(match.group(1))


def test_two_worker_processes_send_2000_messages_each_exactly_once(
    database_url, session, make_user, tmp_path
):
    sender = make_user()
    batch = queue(session, sender, insert_candidates(session, 2000), provider="smscentral")
    session.close()  # a SQLite reader must not hold a snapshot the workers' writes wait on
    processes = []
    # 5 ms a call, 2,000 calls: seconds of work, more than the start-up of the second worker.
    with FakeSmsCentral(latency=0.005) as fake:
        env = worker_env(database_url, fake, DISPATCH_CONCURRENCY="8")
        try:
            processes = [flask_worker(env, tmp_path / f"worker-{n}.log") for n in (1, 2)]

            def finished() -> bool:
                for process in processes:
                    assert process.popen.poll() is None, f"a worker died:\n{process.output()}"
                return states(session, batch)["sent"] == 2000

            wait_until(finished, 90, "all 2,000 messages to be sent", every=0.2)
            for process in processes:
                process.signal(SIGTERM)
            exit_codes = [process.wait(30) for process in processes]
        finally:
            close_all(processes)

    assert exit_codes == [0, 0]
    final = messages(session, batch)
    assert Counter(m.state for m in final) == Counter(sent=2000)
    seen = references(fake)
    twice = [ref for ref, n in seen.items() if n > 1]
    missing = {m.uuid for m in final} - set(seen)
    assert not twice, f"{len(twice)} message(s) sent more than once"
    assert not missing, f"{len(missing)} message(s) never reached the gateway"
    assert set(seen) == {m.uuid for m in final}
    assert all(m.attempts == 1 for m in final)
    shares = [handled_by(p) for p in processes]
    assert sum(shares) == 2000
    assert all(shares), f"one worker did all the work: {shares} (claims are not shared)"


def test_a_worker_killed_mid_send_leaves_its_messages_unknown_and_nobody_resends_them(
    database_url, session, make_user, tmp_path
):
    sender = make_user()
    batch = queue(session, sender, insert_candidates(session, 40), provider="smscentral")
    processes = []
    with FakeSmsCentral(latency=5.0) as fake:  # calls stay in flight for 5 s
        env = worker_env(database_url, fake)
        try:
            killed = script_worker(env, tmp_path / "killed.log", lease_seconds=2.0, concurrency=4)
            processes.append(killed)
            wait_until(lambda: len(fake.requests) >= 4, 30, "calls to be in flight")
            killed.signal(SIGKILL)
            assert killed.wait(10) == -SIGKILL
            in_flight = set(references(fake))
            fake.latency = 0.0

            sending = [m for m in messages(session, batch) if m.state == "sending"]
            # The calls the gateway was answering when the worker died are all still `sending`.
            assert in_flight <= {m.uuid for m in sending}
            last_lease = max(m.lease_until for m in sending)
            wait_until(lambda: utcnow() > last_lease, 10, "the leases to run out")
            # Nobody else touches them while no worker runs: still `sending`, not queued.
            assert states(session, batch)["sending"] == len(sending)

            fresh = flask_worker(env, tmp_path / "fresh.log", "--once")
            processes.append(fresh)
            assert fresh.wait(60) == 0, fresh.output()
        finally:
            close_all(processes)

    final = {m.uuid: m for m in messages(session, batch)}
    stranded = {m.uuid for m in sending}
    assert {uuid for uuid, m in final.items() if m.state == "unknown"} == stranded
    assert all(final[uuid].lease_until is None for uuid in stranded)
    assert Counter(m.state for m in final.values()) == Counter(
        unknown=len(stranded), sent=40 - len(stranded)
    )
    seen = references(fake)
    assert all(seen[uuid] == 1 for uuid in in_flight), "a message in flight at the crash was resent"
    assert not (set(seen) - in_flight) & stranded, "a stranded message was sent after the crash"
    assert all(n == 1 for n in seen.values())
    # Besides the calls in flight, at most the 2 x concurrency messages a worker holds at a time
    # may be stranded by a crash: the rest of the queue must still be queued, then sent.
    assert len(stranded) <= 2 * 4, (
        f"a worker making 4 calls at a time had claimed {len(stranded)} of the 40 messages: "
        "the crash left all of them `unknown`"
    )


def test_a_worker_stopped_with_sigterm_finishes_its_calls_exits_0_and_leaves_nothing_sending(
    database_url, session, make_user, tmp_path
):
    sender = make_user()
    batch = queue(session, sender, insert_candidates(session, 60), provider="smscentral")
    worker = None
    with FakeSmsCentral(latency=0.5) as fake:
        env = worker_env(database_url, fake)
        try:
            worker = flask_worker(env, tmp_path / "worker.log", "--concurrency", "4")
            wait_until(lambda: len(fake.requests) >= 4, 30, "calls to be in flight")
            worker.signal(SIGTERM)
            exit_code = worker.wait(30)
        finally:
            if worker is not None:
                worker.close()

    assert exit_code == 0, worker.output()
    assert "stopped after handling" in worker.output()
    final = messages(session, batch)
    counts = Counter(m.state for m in final)
    assert counts["sending"] == 0
    assert set(counts) <= {"sent", "queued"}, counts
    seen = references(fake)
    # Every call that began was finished and recorded; nothing was sent twice.
    assert {m.uuid for m in final if m.state == "sent"} == set(seen)
    assert all(n == 1 for n in seen.values())
    assert counts["sent"] >= 4
    assert all(m.lease_until is None for m in final)
