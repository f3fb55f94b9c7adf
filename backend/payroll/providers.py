"""Adapters for payroll providers that keep 401(k) deductions as benefits: Finch (through its SDK) and Gusto.

Both see a deferral change the same way: one deduction per tax treatment (pre-tax → the 401(k) benefit, Roth → the
Roth 401(k) benefit), where a catch-up line adds to its treatment's rate and sets the benefit's `catch_up` flag (such
payrolls keep deducting past the 402(g) limit, up to the catch-up limit, instead of keeping a second deduction).
Every change carries the whole election, so both treatments are always written: one the change has no line for is
set to zero, from the change's effective date. A stop is the same: zero on both, from its effective date (rather
than Finch's unenroll or Gusto's `active: false`, which apply at once and would cut a paycheck still owed the old
rate, such as the capped last deduction before a 402(g) stop)."""
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import finch
import httpx
from sqlalchemy import select

from backend.db import utcnow
from backend.errors import NotFound
from backend.outbox import Delivery
from backend.payroll.models import ProviderConnection
from backend.payroll.outbound import (AddressNotAllowed, OutboundPolicy, checked_client, failure_reason,
                                      status_failure)
from backend.plans import service as plans

TIMEOUT_SECONDS = 10.0
FINCH_JOB_STATUSES = ("pending", "in_progress", "complete", "error", "reauth_error", "permissions_error")
TREATMENTS = {"pretax": "pretax", "pretax_catchup": "pretax", "roth": "roth", "roth_catchup": "roth"}


class UnrepresentableChange(ValueError):
    """The change cannot be said in this provider's terms; sending it again will not help."""


@dataclass(frozen=True)
class Deduction:
    """What payroll withholds for one tax treatment each paycheck: a percent of pay or a flat amount."""

    percent: Decimal | None = None  # 6 means 6% of pay
    amount_cents: int | None = None
    catch_up: bool = False

    @property
    def is_zero(self) -> bool:
        return not self.percent and not self.amount_cents


def deductions_by_treatment(payload: dict) -> dict[str, Deduction]:
    """{"pretax": Deduction, "roth": Deduction} for a deferral change (a stop is zero on both)."""
    lines: dict[str, list[dict]] = {"pretax": [], "roth": []}
    if payload.get("action") != "stop":
        for line in payload.get("lines") or []:
            if line["money_type"] not in TREATMENTS:
                raise UnrepresentableChange(f"no benefit takes money type {line['money_type']!r}")
            lines[TREATMENTS[line["money_type"]]].append(line)
    deductions = {}
    for treatment, group in lines.items():
        catch_up = any(line["money_type"].endswith("_catchup") for line in group)
        percents = [Decimal(line["percent"]) for line in group if line.get("percent") is not None]
        amounts = [int(line["amount_cents"]) for line in group if line.get("amount_cents") is not None]
        if percents and amounts:
            # One benefit holds one deduction: a percent plus a flat amount has no single rate payroll could use.
            raise UnrepresentableChange(f"the {treatment} lines mix a percent and a flat amount, which one "
                                        f"{treatment} benefit cannot hold; elect both as percents or both as amounts")
        if amounts:
            deductions[treatment] = Deduction(amount_cents=sum(amounts), catch_up=catch_up)
        else:
            deductions[treatment] = Deduction(percent=sum(percents, Decimal(0)), catch_up=catch_up)
    return deductions


def refused_for_good(status: int) -> bool:
    """A 4xx other than timeouts, conflicts and rate limits: the provider will never take the request as it is."""
    return 400 <= status < 500 and status not in (408, 409, 425, 429)


def _config(db, connection_id: str) -> dict:
    """The connection's config as it is now (not as a cached snapshot has it)."""
    with db.transaction() as session:
        return dict(session.scalar(select(ProviderConnection.config)
                                   .where(ProviderConnection.id == connection_id)) or {})


def _change_config(db, connection_id: str, change) -> bool:
    """Apply `change(config) -> new config, or None for no change` to the connection's config in a short
    transaction of its own, holding the row's lock from the read to the write (the first statement writes the
    row, which locks it on PostgreSQL and takes the write lock on SQLite). Whether it changed."""
    table = ProviderConnection.__table__
    with db.transaction() as session:
        session.execute(table.update().where(table.c.id == connection_id).values(config=table.c.config))
        config = dict(session.scalar(select(table.c.config).where(table.c.id == connection_id)) or {})
        changed = change(config)
        if changed is None or changed == config:
            return False
        session.execute(table.update().where(table.c.id == connection_id).values(config=changed))
        return True


# ---- Finch -----------------------------------------------------------------------------------------------------

def basis_points(percent: Decimal) -> int:
    points = percent * 100
    if points != points.to_integral_value():
        raise UnrepresentableChange(f"Finch takes whole basis points; {percent}% is {points} of them")
    return int(points)


def match_tiers_by_treatment(plan_tiers: list[dict], deductions: dict[str, Deduction]) -> dict[str, dict] | None:
    """Finch's `company_contribution` for each benefit, from the plan's match formula, or None when the formula
    cannot be said in Finch's tiers (then it is left out and payroll's own match setting stands).

    The plan matches the employee's total deferral, but Finch matches each benefit on its own, so giving both the
    plan's tiers would match 6% pre-tax and 2% Roth each against the whole formula: more than the plan's match on
    8%. The pre-tax benefit gets the tiers as
    they are and the Roth benefit what the pre-tax percent leaves of them (pre-tax 2% + Roth 4% under "100% of 3%,
    50% of the next 2%": Roth gets 100% of its first 1% and 50% of its next 2%). A flat pre-tax amount has no
    percent to subtract, so the Roth benefit then gets the whole formula (payroll may over-match)."""
    cumulative, reached = [], Decimal(0)  # Finch's tiers: (deferral percent up to, match rate percent)
    for tier in sorted(plan_tiers, key=lambda t: Decimal(str(t["deferral_from_percent"]))):
        start, end = Decimal(str(tier["deferral_from_percent"])), Decimal(str(tier["deferral_to_percent"]))
        if start > reached:
            cumulative.append((start, Decimal(0)))  # a gap in the formula matches nothing
        cumulative.append((end, Decimal(str(tier["match_rate_percent"]))))
        reached = max(reached, end)
    used = deductions["pretax"].percent or Decimal(0)
    shares = {"pretax": cumulative, "roth": [(end - used, rate) for end, rate in cumulative if end > used]}
    try:
        return {treatment: ({"type": "tiered", "tiers": [{"match": basis_points(rate), "threshold": basis_points(end)}
                                                          for end, rate in tiers]}
                            if tiers else {"type": "percent", "amount": 0})
                for treatment, tiers in shares.items()}
    except UnrepresentableChange:
        return None


class FinchAdapter:
    """Finch's deductions API, through the official SDK. Writes are asynchronous jobs: the change is acknowledged
    only when every job it started has completed. Jobs still running after the polls are kept in the connection's
    config and polled again on the next attempt; a job Finch failed is submitted afresh by the outbox (an enrollment
    is an overwrite, so sending it again is safe), and one Finch failed for bad input dead-letters at once.

    The company's benefit ids and the jobs in flight live in the connection's config, changed in short
    transactions of the adapter's own that lock the connection's row only while they read and write it, never
    across a call to Finch or a poll."""

    BENEFITS = {"pretax": ("401k", "401(k)"), "roth": ("401k_roth", "Roth 401(k)")}  # treatment → (type, name)

    def __init__(self, db, *, policy: OutboundPolicy, poll_interval: float = 1.0, max_polls: int = 10,
                 creation_lease: float = 60.0):
        self.db, self.policy = db, policy  # for the connection's config, in short transactions of the adapter's own
        # A delivery polls at most max_polls times per job, so it ends well inside the dispatcher's lease.
        self.poll_interval, self.max_polls = poll_interval, max_polls
        # How long one delivery may take to create the company's benefits before another may take over.
        self.creation_lease = creation_lease
        self._clients: dict[tuple[str, str], finch.Finch] = {}
        self._clients_lock = threading.Lock()

    def client_for(self, connection, access_token: str) -> finch.Finch:
        key = (connection.endpoint_url, access_token)
        with self._clients_lock:
            if key not in self._clients:
                # No SDK retries: the outbox is the retry policy, and a retried benefit creation after a lost
                # answer would create the benefit twice. The SDK's own httpx client follows redirects and reads
                # proxies from the environment: ours calls only where the outbound policy allows.
                self._clients[key] = finch.Finch(access_token=key[1], base_url=key[0], max_retries=0,
                                                 timeout=TIMEOUT_SECONDS,
                                                 http_client=checked_client(self.policy, TIMEOUT_SECONDS))
            return self._clients[key]

    def deliver(self, connection, message) -> Delivery:
        payload, credentials = message.payload, connection.credentials
        if not connection.endpoint_url or not credentials.get("access_token"):
            return Delivery(False, "the Finch connection needs endpoint_url and config.access_token", permanent=True)
        if not payload.get("external_id"):
            return Delivery(False, "the employee has no external id to give Finch as individual_id", permanent=True)
        try:
            deductions = deductions_by_treatment(payload)
            configurations = self._configurations(connection, payload, deductions)
        except UnrepresentableChange as error:
            return Delivery(False, str(error), permanent=True)
        client = self.client_for(connection, credentials["access_token"])
        jobs = (_config(self.db, connection.id).get("jobs_in_flight") or {}).get(message.id)
        resumed = bool(jobs)
        try:
            if not resumed:
                benefit_ids = self._company_benefits(client, connection.id)
                if isinstance(benefit_ids, Delivery):
                    return benefit_ids
                jobs = {}
                for treatment, configuration in configurations.items():
                    enrolled = client.hris.benefits.individuals.enroll_many(benefit_ids[treatment], individuals=[
                        {"individual_id": payload["external_id"], "configuration": configuration}])
                    jobs[treatment] = enrolled.job_id
            # else: an earlier attempt's jobs were still running; wait for them rather than submit the change again
            outcomes = {treatment: self._await_job(client, f"enroll {treatment}", job_id)
                        for treatment, job_id in jobs.items()}
        except finch.APIStatusError as error:
            if resumed and error.status_code == 404:
                # Finch no longer knows the jobs of the earlier attempt: submit the change afresh next time.
                self._keep_jobs_in_flight(connection.id, message.id, None)
                return Delivery(False, "Finch no longer knows the earlier attempt's jobs; sending again")
            # The SDK's message quotes the answer's body, which is never shown: the status is.
            return Delivery(False, f"Finch: {status_failure(error.status_code)}",
                            permanent=refused_for_good(error.status_code))
        except finch.APIConnectionError as error:
            return Delivery(False, f"Finch: {failure_reason(error)}")
        failed = [failure for status, failure in outcomes.values() if status == "error"]
        running = [failure for status, failure in outcomes.values() if status not in ("complete", "error")]
        # A failed job means the change is submitted afresh next time (all of it: an overwrite is safe to repeat);
        # jobs merely still running are polled again instead.
        if resumed or running:
            self._keep_jobs_in_flight(connection.id, message.id, jobs if running and not failed else None)
        if failed or running:
            return (failed or running)[0]
        return Delivery(True, result={"provider": "finch", "jobs": jobs})

    def _keep_jobs_in_flight(self, connection_id: str, message_id: str, jobs: dict | None) -> None:
        """Remember (or forget) the jobs of a change still running at Finch, so the next attempt polls them.
        Other deliveries through this connection do the same for other employees: each change is made under the
        row's lock, so no one's read-modify-write of the config loses another's."""
        def keep(config: dict) -> dict:
            in_flight = dict(config.get("jobs_in_flight") or {})
            if jobs is None:
                in_flight.pop(message_id, None)
            else:
                in_flight[message_id] = jobs
            return {**config, "jobs_in_flight": in_flight}

        _change_config(self.db, connection_id, keep)

    def _configurations(self, connection, payload, deductions: dict[str, Deduction]) -> dict[str, dict]:
        with self.db.transaction() as session:
            try:
                tiers = plans.current_plan(session, connection.employer_id).match_tiers or []
            except NotFound:
                tiers = None
        match = match_tiers_by_treatment(tiers, deductions) if tiers is not None else None
        configurations = {}
        for treatment, deduction in deductions.items():
            employee_deduction = ({"type": "fixed", "amount": deduction.amount_cents}
                                  if deduction.amount_cents is not None
                                  else {"type": "percent", "amount": basis_points(deduction.percent)})
            configuration = {"employee_deduction": employee_deduction, "catch_up": deduction.catch_up,
                             "effective_date": payload["effective_date"]}
            if match is not None:
                configuration["company_contribution"] = match[treatment]
            configurations[treatment] = configuration
        return configurations

    def _company_benefits(self, client: finch.Finch, connection_id: str) -> dict[str, str] | Delivery:
        """The company's 401(k) and Roth 401(k) benefit ids, created at Finch on first use and kept in the
        connection's config. Two deliveries to the same employer must not both create them: the first marks the
        config "being created" (for `creation_lease` seconds) and the others wait for its ids, polling the
        database, or take over when the mark runs out (its delivery died)."""
        while True:
            seen: dict = {}

            def take_over(config: dict) -> dict | None:
                seen.update(config)
                marked = config.get("benefits_being_created")
                if self._all_created(config) or (marked and datetime.fromisoformat(marked) > utcnow()):
                    return None
                until = utcnow() + timedelta(seconds=self.creation_lease)
                return {**config, "benefits_being_created": until.isoformat()}

            mine = _change_config(self.db, connection_id, take_over)
            if self._all_created(seen):
                return dict(seen["benefit_ids"])
            if mine:
                break
            time.sleep(self.poll_interval)
        ids = dict(seen.get("benefit_ids") or {})
        try:
            for treatment, (benefit_type, name) in self.BENEFITS.items():
                if treatment in ids:
                    continue
                created = client.hris.benefits.create(type=benefit_type, description=name, frequency="every_paycheck")
                ids[treatment] = created.benefit_id
                # Kept at once: it stays even if the rest of the delivery fails, and is never created twice.
                _change_config(self.db, connection_id, lambda c, kept=dict(ids): {**c, "benefit_ids": kept})
                status, failure = self._await_job(client, f"create {benefit_type}", created.job_id)
                if status == "error":
                    ids.pop(treatment)  # Finch did not create it after all: the next attempt tries again
                    _change_config(self.db, connection_id, lambda c, kept=dict(ids): {**c, "benefit_ids": kept})
                if failure is not None:  # (a creation still running keeps its id: the next attempt enrolls into it)
                    return failure
            return ids
        finally:
            _change_config(self.db, connection_id,
                           lambda c: {k: v for k, v in c.items() if k != "benefits_being_created"})

    def _all_created(self, config: dict) -> bool:
        return set(config.get("benefit_ids") or {}) >= set(self.BENEFITS)

    def _await_job(self, client: finch.Finch, label: str, job_id: str) -> tuple[str, Delivery | None]:
        """Poll one job, at most max_polls times: ("complete", None), ("error", why) or (still running, why)."""
        for poll in range(self.max_polls):
            job = client.jobs.manual.retrieve(job_id)
            if job.status in ("complete", "error"):
                break
            if poll + 1 < self.max_polls:
                time.sleep(self.poll_interval)
        else:
            # The job's id and status are the endpoint's words: only a status Finch documents is repeated.
            status = job.status if job.status in FINCH_JOB_STATUSES else "unfinished"
            return job.status, Delivery(False, f"Finch job ({label}) still {status} after {self.max_polls} polls")
        # Finch reports each individual's outcome with an HTTP-like code: a 4xx means it refused the input.
        refused = [entry for entry in job.body or [] if isinstance(entry, dict)
                   and isinstance(entry.get("code"), int) and entry["code"] >= 400]
        if job.status == "complete" and not refused:
            return "complete", None
        # Each refusal's message is the endpoint's text, never shown (security review H-1): its code is.
        codes = ", ".join(str(code) for code in sorted({entry["code"] for entry in refused}))
        reasons = f"refused with code {codes}" if refused else "no reason given"
        permanent = bool(refused) and all(refused_for_good(entry["code"]) for entry in refused)
        return "error", Delivery(False, f"Finch job ({label}) failed: {reasons}", permanent=permanent)


# ---- Gusto -----------------------------------------------------------------------------------------------------

def gusto_decimal(deduction: Deduction) -> str:
    """Gusto's decimal strings: a percent as "6.0", a flat amount in dollars as "110.77"."""
    if deduction.amount_cents is not None:
        return f"{deduction.amount_cents // 100}.{deduction.amount_cents % 100:02d}"
    text = format((deduction.percent or Decimal(0)).normalize(), "f")
    return text if "." in text else f"{text}.0"


class GustoAdapter:
    """A Gusto-shaped API: each employee has one benefit record per company benefit (401(k), Roth 401(k)), read,
    then created or updated with the version read (optimistic concurrency: a 409 means someone changed it since,
    so it is read again and the update retried). `config["company_benefit_uuids"]` names the company's benefits:
    {"pretax": uuid, "roth": uuid}. Writes are synchronous: a 2xx acknowledges."""

    API_VERSION = "2024-04-01"

    def __init__(self, *, policy: OutboundPolicy, max_conflicts: int = 3):
        self.max_conflicts = max_conflicts
        self.client = checked_client(policy, TIMEOUT_SECONDS)

    def deliver(self, connection, message) -> Delivery:
        config, payload, credentials = connection.config or {}, message.payload, connection.credentials
        company_benefits = config.get("company_benefit_uuids") or {}
        if not connection.endpoint_url or not credentials.get("access_token"):
            return Delivery(False, "the Gusto connection needs endpoint_url and config.access_token", permanent=True)
        if not {"pretax", "roth"} <= set(company_benefits):
            return Delivery(False, "the Gusto connection needs config.company_benefit_uuids with the company's "
                                   "\"pretax\" (401(k)) and \"roth\" (Roth 401(k)) benefit uuids", permanent=True)
        if not payload.get("external_id"):
            return Delivery(False, "the employee has no external id to find them in Gusto", permanent=True)
        try:
            deductions = deductions_by_treatment(payload)
        except UnrepresentableChange as error:
            return Delivery(False, str(error), permanent=True)
        base = connection.endpoint_url.rstrip("/")
        headers = {"Authorization": f"Bearer {credentials['access_token']}", "X-Gusto-API-Version": self.API_VERSION}
        applied = {}
        try:
            for treatment, deduction in deductions.items():
                outcome = self._apply(base, headers, payload, company_benefits[treatment], deduction)
                if isinstance(outcome, Delivery):
                    return outcome
                applied[treatment] = outcome
        except (httpx.HTTPError, AddressNotAllowed) as error:
            return Delivery(False, f"Gusto: {failure_reason(error)}")
        return Delivery(True, result={"provider": "gusto", "employee_benefits": applied})

    def _apply(self, base: str, headers: dict, payload: dict, company_benefit: str,
               deduction: Deduction) -> dict | None | Delivery:
        """Make the employee's benefit say `deduction`: its {uuid, version}, None if there was nothing to stop,
        or the Delivery saying why not."""
        employee = payload["external_id"]
        wanted = {"employee_deduction": gusto_decimal(deduction),
                  "deduct_as_percentage": deduction.amount_cents is None, "catch_up": deduction.catch_up,
                  "effective_date": payload["effective_date"]}
        for _ in range(self.max_conflicts + 1):
            listed = self.client.get(f"{base}/v1/employees/{employee}/employee_benefits", headers=headers)
            if listed.status_code != 200:
                return self._refusal("reading the employee's benefits", listed)
            current = next((b for b in listed.json() if b.get("company_benefit_uuid") == company_benefit
                            and b.get("active", True)), None)
            if current is None:
                if deduction.is_zero:
                    return None  # never enrolled: nothing to set to zero
                response = self.client.post(f"{base}/v1/employees/{employee}/employee_benefits", headers=headers,
                                            json={"company_benefit_uuid": company_benefit, **wanted})
            elif self._already(current, wanted):
                return {"uuid": current["uuid"], "version": current["version"]}  # a retry after a lost answer
            else:
                response = self.client.put(f"{base}/v1/employee_benefits/{current['uuid']}", headers=headers,
                                           json={"version": current["version"], **wanted})
            if response.status_code == 409:
                continue  # changed (or created) by someone else since we read it: read again and retry
            if 200 <= response.status_code < 300:
                stored = response.json()
                return {"uuid": stored.get("uuid"), "version": stored.get("version")}
            return self._refusal("writing the employee's benefit", response)
        return Delivery(False, f"Gusto reported a newer version of employee {employee}'s benefit {company_benefit} "
                               f"{self.max_conflicts + 1} times in a row")

    @staticmethod
    def _already(current: dict, wanted: dict) -> bool:
        try:
            same_amount = Decimal(str(current.get("employee_deduction"))) == Decimal(wanted["employee_deduction"])
        except ArithmeticError:
            return False
        return same_amount and all(current.get(k) == wanted[k]
                                   for k in ("deduct_as_percentage", "catch_up", "effective_date"))

    @staticmethod
    def _refusal(doing: str, response: httpx.Response) -> Delivery:
        # The body is the endpoint's and is never shown (security review H-1); the status is.
        return Delivery(False, f"Gusto: {status_failure(response.status_code)} {doing}",
                        permanent=refused_for_good(response.status_code))
