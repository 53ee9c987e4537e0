"""`[costs]`: the declared defaults, the round trip, the net return, and bad values."""

from __future__ import annotations

import numpy as np
import pytest

from scanctl.errors import ConfigError
from scanctl.market.costs import TradingCosts
from scanctl.settings import load_settings


def test_defaults_are_the_2026_tax_and_a_typical_commission():
    costs = TradingCosts()
    assert (costs.commission_rate, costs.sell_tax_rate) == (0.00015, 0.002)
    # 1 KRW buys 1 / 1.00015 of a share; the sale returns 1 - 0.00015 - 0.002 of its value.
    assert costs.round_trip == pytest.approx(1 - 0.99785 / 1.00015)  # 0.2299655 %
    assert costs.net(0.0) == pytest.approx(-costs.round_trip)
    assert costs.net(0.10) == pytest.approx(1.1 * 0.99785 / 1.00015 - 1)  # +9.7466 %
    assert np.isnan(costs.net(np.array([np.nan]))).all()


def test_no_costs():
    assert TradingCosts(0.0, 0.0).net(0.05) == pytest.approx(0.05, abs=1e-15)


def test_read_from_the_configuration(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[costs]\nsell_tax_rate = 0.0015\n", encoding="utf-8")
    settings = load_settings(path, environ={"SCANCTL_COSTS_COMMISSION_RATE": "0.0001"})
    assert settings.costs == TradingCosts(commission_rate=0.0001, sell_tax_rate=0.0015)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("commission_rate", -0.001, "commission_rate must be a number ≥ 0 and < 0.1, got -0.001"),
        ("sell_tax_rate", 0.2, "sell_tax_rate must be a number ≥ 0 and < 0.1, got 0.2"),
    ],
)
def test_bad_values(key, value, message):
    with pytest.raises(ConfigError, match=rf"^\[costs\] {message}$"):
        TradingCosts.from_mapping({key: value})
