"""Two transactions at once: the first writes and stays uncommitted while the second tries the same write, as two
requests or workers would on a busy server."""
import threading


def race(plumb, first, second, hold_seconds: float = 0.3):
    """Run `first(session)` in a transaction held open, then `second(session)` in another while the first is still
    uncommitted (it commits `hold_seconds` later); returns (first's answer, second's answer)."""
    written, go_on, answers = threading.Event(), threading.Event(), {}

    def run_first():
        with plumb.db.transaction() as session:
            answers["first"] = first(session)
            session.flush()
            written.set()
            go_on.wait(10)

    racer = threading.Thread(target=run_first)
    racer.start()
    assert written.wait(10)
    threading.Timer(hold_seconds, go_on.set).start()
    with plumb.db.transaction() as session:  # waits for the first to commit where the database makes it
        answers["second"] = second(session)
    racer.join(10)
    return answers["first"], answers["second"]
