"""The plan's compliance: HCE/key status, ADP/ACP, 402(g), 415(c), top-heavy, coverage (the IRS figures are in
backend/irs)."""
