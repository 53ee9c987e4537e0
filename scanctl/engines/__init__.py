"""Screening engines: pure functions over wide (session × ticker) arrays."""
