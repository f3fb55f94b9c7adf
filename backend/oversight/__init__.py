"""What sponsors and advisors oversee: a plan's people, its dashboard, and an advisor's whole book of plans.

Read models over the domain packages below (each asked through its owner's functions), with the few figures that
must be precomputed to stay fast kept current from the events that change them, in the same transaction.
"""
