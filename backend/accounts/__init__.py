"""Recordkeeping: ledger accounts and entries, fund prices, balances, vesting."""
