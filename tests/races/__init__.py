"""Requests fired in parallel at a served app: one effect for one decision, throttles that count atomically,
tokens spent once, and duplicates answered with a replay or 409, never a 500."""
