"""The provider names and where each one's spec lives: the one list of data sources.

Nothing is imported here, so the CLI can list the sources in its help (``data sync --source``)
without loading the configuration machinery. Adding a provider is one line here (see
`scanctl.providers.base`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# name → "module:attribute" of its ProviderSpec; imported only when that provider is chosen.
PROVIDERS: Mapping[str, str] = MappingProxyType(
    {
        "naver": "scanctl.providers.naver:SPEC",
        "kis": "scanctl.providers.kis:SPEC",
        "kiwoom": "scanctl.providers.kiwoom:SPEC",
        "krx-openapi": "scanctl.providers.krx_openapi:SPEC",
    }
)
DEFAULT_PROVIDER = "naver"
