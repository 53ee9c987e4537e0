"""Market facts: dates and the clock, the KRX calendar, the universe and the market condition."""
