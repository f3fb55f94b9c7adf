"""Payroll provider connections, inbound pay runs, validation, outbound deferral sync."""
