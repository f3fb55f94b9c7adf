"""Payroll's public face: what the HTTP layer and other packages call. Each subject has its module: connections,
ingest (pay runs arriving), snapshot (what a run is checked against), findings (the checks, pure), posting (the
ledger entries), follow_up (observed elections, 402(g) stops, hours, terminations), exceptions_queue (the
sponsor's decisions) and pay_history (posted pay over a period)."""
from backend.accounts.investing import invest_pending
from backend.payroll.connections import CREDENTIAL_KEYS, connection_credentials, connection_secret, create_connection
from backend.payroll.exceptions_queue import exception_for, resolve_exception
from backend.payroll.findings import Finding
from backend.payroll.ingest import PayRunResult, ingest_pay_run, known_external_ids, request_digest, structural_problems
from backend.payroll.pay_history import payroll_covers_year, posted_pay

__all__ = ["invest_pending", "CREDENTIAL_KEYS", "connection_credentials", "connection_secret", "create_connection",
           "exception_for", "resolve_exception", "Finding", "PayRunResult", "ingest_pay_run", "known_external_ids",
           "request_digest", "structural_problems", "payroll_covers_year", "posted_pay"]
