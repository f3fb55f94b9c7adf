"""The plan-date clock. Services take `today` as an argument; the HTTP layer asks this clock for it, and tests and
the demo can pin it to a date so that eligibility and effective dates are reproducible."""
from datetime import date, datetime, timezone


class Clock:
    def __init__(self, fixed_today: date | None = None):
        self.fixed_today = fixed_today

    def today(self) -> date:
        return self.fixed_today or datetime.now(timezone.utc).date()
