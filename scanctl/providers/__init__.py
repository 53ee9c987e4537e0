"""Market-data providers: the demo market and (later) real sources behind one interface."""
