"""Payroll's public face: what the HTTP layer and other packages call. Each subject has its module: connections,
ingest (pay runs arriving), snapshot (what a run is checked against), findings (the checks, pure), posting (the
ledger entries), follow_up (observed elections, 402(g) stops, hours, terminations), exceptions_queue (the
sponsor's decisions) and pay_history (posted pay over a period)."""
from backend.payroll.connections import connection_credentials, connection_secret, create_connection
from backend.payroll.exceptions_queue import resolve_exception
from backend.payroll.ingest import PayRunResult, ingest_pay_run, structural_problems

__all__ = ["connection_credentials", "connection_secret", "create_connection", "resolve_exception", "PayRunResult",
           "ingest_pay_run", "structural_problems"]
