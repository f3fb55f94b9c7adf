"""IRS limits by year, HCE/key status, ADP/ACP, 402(g), 415(c), top-heavy, coverage."""
