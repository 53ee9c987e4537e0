"""The daily scan: orchestration and persistence of picks and runs."""
