"""Where fraudft caches what it builds: $FRAUDFT_CACHE, else ~/.cache/fraudft.

    from fraudft.core.cache import cache_dir
    cache_dir("audits")   # ~/.cache/fraudft/audits
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """The cache folder (or a sub-folder of it); not created here."""
    return Path(os.environ.get("FRAUDFT_CACHE", Path.home() / ".cache" / "fraudft"), *parts)
