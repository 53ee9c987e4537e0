"""Market-data providers behind one interface, and the sync that validates and stores their data.

``names`` (the provider names), ``base`` (the `Provider` protocol, errors, the registry and
`make_provider`), ``settings`` (the ``[data]`` configuration), ``http`` (the polite HTTP
client), ``breaker`` (the per-source circuit breaker), ``naver`` (the default source), ``sync`` /
``gates`` / ``corporate`` / ``records`` (the ``data sync`` pipeline), ``demo`` (the offline
synthetic market).
"""
