"""HTTP plumbing shared by every blueprint: the request's session and caller, problem details, idempotency keys,
cursor pagination, ETags, and the self-documenting Blueprint (smorest.py) every api module builds on. Domain packages
never import this."""
