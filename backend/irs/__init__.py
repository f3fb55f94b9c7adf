"""IRS figures and the rules that read only them: a leaf package, below every other one."""
