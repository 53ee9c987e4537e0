"""The coverage rule shared by the sync's gate and the scan's data gate: a date's rows must reach
a share of a baseline's (the previous stored session's)."""

from __future__ import annotations

import math


def share_needed(share: float, total: int) -> int:
    """The smallest count that is at least ``share`` of ``total`` (robust to float noise)."""
    return math.ceil(round(share * total, 9))


def covers(count: int, baseline: int, share: float) -> bool:
    """Whether ``count`` rows cover ``share`` of ``baseline`` (and at least one row exists)."""
    return count > 0 and count >= share_needed(share, baseline)
