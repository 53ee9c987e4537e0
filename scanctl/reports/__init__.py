"""The read side: `history` (show, runs, status), `inspect`, `evaluate` (and its plot) and
`doctor`. Nothing here writes results."""
