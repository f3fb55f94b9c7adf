"""HTTP plumbing shared by every blueprint: the request's session and caller, problem details, idempotency keys,
cursor pagination and ETags. Domain packages never import this."""
