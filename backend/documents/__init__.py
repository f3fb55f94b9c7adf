"""Plan documents: the adoption agreement, the summary plan description and the safe-harbor notice, drawn up from the
plan's rules, restated when they change, and signed by the sponsor."""
