"""What a round trip costs on KRX (`[costs]`): the broker's commission on each side and the
securities transaction tax on the sale. `scanctl evaluate` charges it to every pick.

Defaults (README "Evaluating the engines" gives the sources):

* ``sell_tax_rate`` 0.20 %: the securities transaction tax of a sale from 2026-01-01, KOSPI
  0.05 % plus the 0.15 % rural special tax, KOSDAQ 0.20 % (증권거래세법 시행령 as amended for
  2026). It was 0.20 % in 2023, 0.18 % in 2024 and 0.15 % in 2025 on both markets; one rate is
  applied to every pick, whatever its year and market, so the figures of 2024–2025 are
  slightly conservative.
* ``commission_rate`` 0.015 % a side: a typical online-brokerage commission, the exchange and
  depository fees (about 0.0036 %) included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from scanctl.config import Section, setting


@dataclass(frozen=True)
class TradingCosts(Section):
    """`[costs]`: the costs of buying at one close and selling at a later one."""

    SECTION: ClassVar[str] = "costs"

    commission_rate: float = setting(
        0.00015,
        "broker commission on each buy and each sell, as a share of the amount (0.015 %)",
        ge=0,
        lt=0.1,
    )
    sell_tax_rate: float = setting(
        0.002,
        "securities transaction tax on each sale, as a share of the amount (0.20 %: the "
        "KOSPI and KOSDAQ rate from 2026)",
        ge=0,
        lt=0.1,
    )

    @property
    def buy_factor(self) -> float:
        """Shares bought per KRW of capital, relative to the close: 1 / (1 + commission)."""
        return 1 / (1 + self.commission_rate)

    @property
    def sell_factor(self) -> float:
        """KRW received per KRW of shares sold at the close: 1 − commission − tax."""
        return 1 - self.commission_rate - self.sell_tax_rate

    @property
    def round_trip(self) -> float:
        """The cost of a round trip at an unchanged price, as a positive share (≈ 0.23 %)."""
        return 1 - self.buy_factor * self.sell_factor

    def net(self, gross: np.ndarray | float) -> np.ndarray | float:
        """The return after costs of a gross close-to-close return (NaN stays NaN)."""
        return (1 + gross) * self.buy_factor * self.sell_factor - 1
