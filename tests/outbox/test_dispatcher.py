"""The dispatcher on its own, with deliverers made for each rule: one message's failure (a database error
included) costs only that message an attempt, no lock or transaction is held while delivering, a lease that runs
out gives the message back, and each recipient's messages go out in order while a batch goes out at once."""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.audit import AuditEvent
from backend.db import Database, utcnow
from backend.events import EventBus, MessageDead, MessageDelivered
from backend.outbox import BatchDeliverer, Delivery, Dispatcher, OutboxMessage, enqueue
from tests.support.races import race


def add_messages(plumb, *messages: tuple[str, str]) -> list[str]:
    """Enqueue (topic, recipient) messages in one transaction, in order; their ids."""
    with plumb.db.transaction() as session:
        added = [enqueue(session, topic, recipient, {"n": n}) for n, (topic, recipient) in enumerate(messages)]
        session.flush()
        return [m.id for m in added]


def stored(plumb) -> dict[str, OutboxMessage]:
    with plumb.db.transaction() as session:
        return {m.id: m for m in session.scalars(select(OutboxMessage))}


class Counting:
    """A deliverer standing for an HTTP POST that is acknowledged: it counts what it was handed."""

    def __init__(self):
        self.delivered: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, message) -> Delivery:
        with self.lock:
            self.delivered.append(message.id)
        return Delivery(True)


def poison(plumb):
    """A deliverer that writes to the database in its own short transaction and hits a unique constraint."""
    def deliver(message) -> Delivery:
        with plumb.db.transaction() as session:
            session.add_all([AuditEvent(id="aud_twice", actor_role="system", action="poison", subject_type="test",
                                        subject_id=message.id) for _ in range(2)])
        return Delivery(True)
    return deliver


def test_a_poison_message_between_two_good_ones_costs_only_itself(plumb):
    # The review's appendix A: a good message to r2, a poison one to r1, another good one to r2.
    ok = Counting()
    first, bad, second = add_messages(plumb, ("test.ok", "r2"), ("test.poison", "r1"), ("test.ok", "r2"))
    dispatcher = Dispatcher(plumb.db, {"test.ok": ok, "test.poison": poison(plumb)}, max_attempts=3, base_delay=0)
    for _ in range(3):
        dispatcher.run_once()

    assert ok.delivered == [first, second]  # each good one exactly once, in order
    messages = stored(plumb)
    assert [messages[i].status for i in (first, second)] == ["delivered", "delivered"]
    assert (messages[bad].status, messages[bad].attempts) == ("dead", 3)
    assert "IntegrityError" in messages[bad].last_error
    with plumb.db.transaction() as session:
        assert session.scalars(select(AuditEvent).where(AuditEvent.id == "aud_twice")).all() == []


def test_a_deliverer_that_raises_is_retried_with_backoff_then_dead_lettered(plumb):
    calls = []

    def failing(message):
        calls.append(message.attempts)
        raise ConnectionError("payroll is down")

    (message_id,) = add_messages(plumb, ("test.flaky", "r1"))
    clock = [utcnow()]
    dispatcher = Dispatcher(plumb.db, {"test.flaky": failing}, max_attempts=3, base_delay=10, now=lambda: clock[0])
    dispatcher.run_once()
    waiting = stored(plumb)[message_id]
    assert (waiting.status, waiting.attempts, waiting.last_error) == ("pending", 1,
                                                                      "ConnectionError: payroll is down")
    # The first retry waits the base delay, give or take a fifth, so retries from many messages spread out.
    assert timedelta(seconds=8) <= waiting.next_attempt_at - clock[0] <= timedelta(seconds=12)
    assert dispatcher.run_once() == 0  # not due yet
    clock[0] += timedelta(seconds=13)
    dispatcher.run_once()
    assert stored(plumb)[message_id].attempts == 2
    clock[0] += timedelta(seconds=25)  # the second retry waits twice as long
    dispatcher.run_once()
    assert (stored(plumb)[message_id].status, stored(plumb)[message_id].attempts) == ("dead", 3)
    assert calls == [0, 1, 2]  # each attempt saw how many came before it


def test_a_deliverer_that_hangs_past_its_timeout_costs_its_message_an_attempt_and_holds_up_no_other(plumb):
    release = threading.Event()
    ok = Counting()

    def hanging(message):
        release.wait(30)
        return Delivery(True)

    stuck, other, behind = add_messages(plumb, ("test.hang", "r1"), ("test.ok", "r2"), ("test.ok", "r1"))
    # A lease of one second: a delivery is given up on after half of it.
    dispatcher = Dispatcher(plumb.db, {"test.hang": hanging, "test.ok": ok}, base_delay=0, lease_seconds=1.0)
    try:
        assert dispatcher.run_once() == 2
        messages = stored(plumb)
        assert ok.delivered == [other] and messages[other].status == "delivered"
        assert (messages[stuck].status, messages[stuck].attempts) == ("pending", 1)
        assert messages[stuck].last_error == "the deliverer did not finish within 0.5 s"
        assert messages[behind].status == "pending" and messages[behind].attempts == 0  # still behind it
    finally:
        release.set()
    while dispatcher.run_once():
        pass
    assert ok.delivered == [other, behind]
    assert {m.status for m in stored(plumb).values()} == {"delivered"}


def test_no_transaction_is_open_while_a_message_is_delivered(plumb):
    seen = []

    def looking(message):
        # Another writer can change the message's row and the outbox while the delivery is under way: nothing
        # is locked (on SQLite, nothing holds the database's write lock either).
        with plumb.db.transaction() as session:
            row = session.scalar(select(OutboxMessage).where(OutboxMessage.id == message.id).with_for_update(
                nowait=True))
            seen.append((row.status, row.claim is not None))
            enqueue(session, "test.later", "r9", {})
        return Delivery(True)

    add_messages(plumb, ("test.look", "r1"))
    Dispatcher(plumb.db, {"test.look": looking}).run_once()
    assert seen == [("pending", True)]  # leased, and not locked
    assert {m.topic: m.status for m in stored(plumb).values()} == {"test.look": "delivered", "test.later": "pending"}


def test_a_lease_that_runs_out_gives_the_message_to_another_worker_and_the_first_ones_outcome_is_ignored(plumb):
    (message_id,) = add_messages(plumb, ("test.ok", "r1"))
    clock = [utcnow()]
    first = Dispatcher(plumb.db, {}, lease_seconds=60, now=lambda: clock[0])
    second = Dispatcher(plumb.db, {}, lease_seconds=60, now=lambda: clock[0])
    (held,) = first.claim(10)  # ... and then the first worker is killed, or stalls
    assert second.claim(10) == []  # leased: no one else may have it
    clock[0] += timedelta(seconds=61)
    (taken,) = second.claim(10)
    assert taken.message.id == message_id and taken.claim != held.claim
    first.record([(held, Delivery(True))])  # the stalled worker comes back: too late, nothing recorded
    assert stored(plumb)[message_id].status == "pending"
    second.record([(taken, Delivery(True))])
    assert (stored(plumb)[message_id].status, stored(plumb)[message_id].attempts) == ("delivered", 1)


def test_only_the_head_of_each_recipients_line_is_claimed_and_a_dead_letter_holds_its_line(plumb):
    from backend.outbox import retry_dead

    first, second, other = add_messages(plumb, ("test.ok", "r1"), ("test.ok", "r1"), ("test.ok", "r2"))
    dispatcher = Dispatcher(plumb.db, {})
    heads = dispatcher.claim(10)
    assert [leased.message.id for leased in heads] == [first, other]
    assert dispatcher.claim(10) == []  # the heads are leased, and second waits behind first
    dispatcher.record([(heads[0], Delivery(False, "refused", permanent=True)), (heads[1], Delivery(True))])
    assert dispatcher.claim(10) == []  # first is dead: second waits behind it until the sponsor acts
    assert (stored(plumb)[first].status, stored(plumb)[second].status) == ("dead", "pending")

    with plumb.db.transaction() as session:
        retry_dead(session, session.scalar(select(OutboxMessage).where(OutboxMessage.id == first)))
    (again,) = dispatcher.claim(10)
    assert again.message.id == first and again.message.attempts == 0
    dispatcher.record([(again, Delivery(True))])
    assert [leased.message.id for leased in dispatcher.claim(10)] == [second]


def test_a_batch_is_delivered_at_once_while_each_recipients_order_holds(plumb):
    in_flight, most, order, lock, gate = [0], [0], {}, threading.Lock(), threading.Barrier(4, timeout=10)

    def slow(message):
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
            order.setdefault(message.recipient, []).append(message.payload["n"])
        try:
            gate.wait()  # the first four deliveries wait for one another: they only pass if made at once
        except threading.BrokenBarrierError:
            pass
        with lock:
            in_flight[0] -= 1
        return Delivery(True)

    add_messages(plumb, *[("test.slow", f"r{n % 4}") for n in range(12)])
    dispatcher = Dispatcher(plumb.db, {"test.slow": slow}, concurrency=8)
    while dispatcher.run_once():
        pass
    assert most[0] == 4  # one per recipient at a time, all four recipients at once
    assert order == {f"r{r}": [n for n in range(12) if n % 4 == r] for r in range(4)}


def test_an_outcome_that_cannot_be_recorded_costs_only_its_own_message_an_attempt(database_url, plumb):
    refused = []

    def refuse_one(session, event: MessageDelivered):
        if event.topic == "test.refused":
            refused.append(event.message_id)
            raise RuntimeError("the subscriber broke")

    db = Database(database_url, session_info={"bus": EventBus({MessageDelivered: [refuse_one], MessageDead: []})})
    try:
        good, bad, also_good = add_messages(plumb, ("test.ok", "r1"), ("test.refused", "r2"), ("test.ok", "r3"))
        ok = Counting()
        Dispatcher(db, {"test.ok": ok, "test.refused": ok}, max_attempts=3).run_once()
        messages = stored(plumb)
        assert [messages[i].status for i in (good, bad, also_good)] == ["delivered", "pending", "delivered"]
        assert messages[bad].attempts == 1 and "could not be recorded" in messages[bad].last_error
        assert refused == [bad, bad]  # together, then on its own
    finally:
        db.engine.dispose()


def test_enqueue_once_per_subject_keeps_the_first_message_about_it(plumb):
    with plumb.db.transaction() as session:
        first = enqueue(session, "payroll.deferral_change", "r1", {"n": 1}, subject_id="402g_limit:emp_1:2026",
                        once_per_subject=True)
        assert first is not None
        assert enqueue(session, "payroll.deferral_change", "r1", {"n": 2}, subject_id="402g_limit:emp_1:2026",
                       once_per_subject=True) is None
        # Without the flag a subject may have many messages (an election's resends).
        assert enqueue(session, "payroll.deferral_change", "r1", {"n": 3}, subject_id="ele_1") is not None
        assert enqueue(session, "payroll.deferral_change", "r1", {"n": 4}, subject_id="ele_1") is not None
    with plumb.db.transaction() as session:
        assert enqueue(session, "payroll.deferral_change", "r1", {"n": 5}, subject_id="402g_limit:emp_1:2026",
                       once_per_subject=True) is None
        rows = session.execute(select(OutboxMessage.subject_id, OutboxMessage.payload["n"].as_integer())
                               .order_by(OutboxMessage.seq)).all()
    assert rows == [("402g_limit:emp_1:2026", 1), ("ele_1", 3), ("ele_1", 4)]  # in line in the order enqueued


def test_two_transactions_racing_to_enqueue_once_per_subject_leave_one_message(plumb):
    def enqueue_once(by):
        return lambda session: enqueue(session, "test.once", "r1", {"by": by}, subject_id="s1",
                                       once_per_subject=True) is not None

    assert race(plumb, enqueue_once("first"), enqueue_once("second")) == (True, False)
    assert [m.payload for m in stored(plumb).values()] == [{"by": "first"}]


@pytest.mark.parametrize("kept_by", ["pull", "provider_event"])
def test_a_delivery_is_recorded_once_whoever_reports_it(plumb, kept_by):
    from backend.outbox import acknowledge_pulled, record_deliveries

    with plumb.db.transaction() as session:
        message = enqueue(session, "test.ok", "r1", {}, employer_id="emp_1")
        session.flush()
        session.execute(OutboxMessage.__table__.update().values(status="awaiting_pull"))
        message_id = message.id
    for _ in range(2):
        with plumb.db.transaction() as session:
            if kept_by == "pull":
                acknowledge_pulled(session, "emp_1", [message_id])
            else:
                record_deliveries(session, [(session.scalar(select(OutboxMessage)), {"via": "provider_event"})])
    assert (stored(plumb)[message_id].status, stored(plumb)[message_id].attempts) == ("delivered", 1)
    with plumb.db.transaction() as session:
        assert acknowledge_pulled(session, "emp_2", [message_id]) == 0  # another employer's: ignored


class Loads:
    """A batch deliverer standing for a receiver with a batch API: it keeps each load it was handed and answers
    what `answer(message)` says for each message (acknowledged unless told otherwise)."""

    def __init__(self, answer=lambda message: Delivery(True)):
        self.loads: list[list[str]] = []
        self.answer = answer
        self.lock = threading.Lock()

    def __call__(self, messages) -> list[Delivery]:
        with self.lock:
            self.loads.append([m.id for m in messages])
        return [self.answer(m) for m in messages]


def test_a_batch_deliverer_gets_its_topics_line_heads_in_loads_of_at_most_its_batch_size_in_line_order(plumb):
    loads, ok = Loads(), Counting()
    ids = add_messages(plumb, *[("test.batch", f"r{n}") for n in range(5)], ("test.ok", "r9"), ("test.batch", "r0"))
    dispatcher = Dispatcher(plumb.db, {"test.batch": BatchDeliverer(loads, max_batch=2), "test.ok": ok},
                            base_delay=0)
    dispatcher.run_once()
    # r0's second message waits for its first: a load never holds two messages to one recipient.
    assert sorted(loads.loads, key=lambda load: ids.index(load[0])) == [ids[0:2], ids[2:4], ids[4:5]]
    assert ok.delivered == [ids[5]]
    dispatcher.run_once()
    assert loads.loads[-1] == [ids[6]]
    assert {m.status for m in stored(plumb).values()} == {"delivered"}


def test_each_outcome_a_batch_deliverer_answers_is_recorded_on_its_own_message(plumb):
    answers = {0: Delivery(True), 1: Delivery(False, "refused", permanent=True), 2: Delivery(False, "busy")}
    loads = Loads(lambda message: answers[message.payload["n"]])
    delivered, refused, busy = add_messages(plumb, ("test.batch", "r0"), ("test.batch", "r1"), ("test.batch", "r2"))
    dispatcher = Dispatcher(plumb.db, {"test.batch": BatchDeliverer(loads)}, base_delay=0)
    dispatcher.run_once()
    assert loads.loads == [[delivered, refused, busy]]
    messages = stored(plumb)
    assert (messages[delivered].status, messages[delivered].attempts) == ("delivered", 1)
    assert (messages[refused].status, messages[refused].last_error) == ("dead", "refused")
    assert (messages[busy].status, messages[busy].attempts, messages[busy].last_error) == ("pending", 1, "busy")
    answers[2] = Delivery(True)
    dispatcher.run_once()
    assert loads.loads[-1] == [busy]  # only the one asked to wait is handed over again
    assert stored(plumb)[busy].status == "delivered"


@pytest.mark.parametrize("deliver_many, error", [
    (lambda messages: (_ for _ in ()).throw(ConnectionError("the batch API is down")), "ConnectionError"),
    (lambda messages: [Delivery(True)], "answered 1 outcomes for 2 messages"),
])
def test_a_batch_deliverer_that_raises_or_answers_the_wrong_count_costs_each_message_of_its_load_an_attempt(
        plumb, deliver_many, error):
    first, second = add_messages(plumb, ("test.batch", "r0"), ("test.batch", "r1"))
    ok = Counting()
    (other,) = add_messages(plumb, ("test.ok", "r2"))
    dispatcher = Dispatcher(plumb.db, {"test.batch": BatchDeliverer(deliver_many), "test.ok": ok}, base_delay=0)
    dispatcher.run_once()
    messages = stored(plumb)
    for message_id in (first, second):
        assert (messages[message_id].status, messages[message_id].attempts) == ("pending", 1)
        assert error in messages[message_id].last_error
    assert messages[other].status == "delivered" and ok.delivered == [other]


def test_a_load_stuck_past_its_deadline_is_recorded_as_failed_and_retried_by_a_new_courier(plumb):
    release, calls = threading.Event(), []

    def hangs_once(messages):
        calls.append([m.id for m in messages])
        if len(calls) == 1:
            release.wait(10)
        return [Delivery(True) for _ in messages]

    first, second = add_messages(plumb, ("test.batch", "r0"), ("test.batch", "r1"))
    dispatcher = Dispatcher(plumb.db, {"test.batch": BatchDeliverer(hangs_once)}, base_delay=0, lease_seconds=0.4)
    try:
        dispatcher.run_once()
        messages = stored(plumb)
        assert [(messages[i].status, messages[i].attempts) for i in (first, second)] == [("pending", 1)] * 2
        assert "did not finish" in messages[first].last_error
        dispatcher.run_once()
        assert calls == [[first, second], [first, second]]
        assert {m.status for m in stored(plumb).values()} == {"delivered"}
    finally:
        release.set()
        dispatcher.close()
