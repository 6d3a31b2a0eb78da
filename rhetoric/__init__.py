"""rhetoric: tag the sentences of English text with the rhetorical and
propaganda devices they use.

    >>> import rhetoric
    >>> result = rhetoric.tag("They want to erase our glorious history.")
    >>> [(t.device, t.text) for t in result.tags]  # doctest: +SKIP
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rhetoric.devices import DEVICES, Device

__version__ = "0.1.0"

if TYPE_CHECKING:
    from rhetoric.batch import tag_dataframe
    from rhetoric.tagger import AnyTechnique, Result, Tag, Tagger

_DEFAULT: Tagger | None = None


def tag(text: str) -> Result:
    """Tag one text with the shipped model (loaded once, on first use)."""
    global _DEFAULT
    from rhetoric.tagger import Tagger, check_text

    check_text(text)
    if _DEFAULT is None:
        _DEFAULT = Tagger.load()
    return _DEFAULT.tag(text)


def __getattr__(name: str) -> Any:
    # Tagger, Tag and Result import scikit-learn-free but numpy-heavy modules:
    # load them on first use so `import rhetoric` stays cheap for the CLI.
    if name in ("Tagger", "Tag", "Result", "Evidence", "AnyTechnique"):
        from rhetoric import tagger

        return getattr(tagger, name)
    if name == "tag_dataframe":  # needs pandas (the [pandas] extra): imported on first use only
        from rhetoric.batch import tag_dataframe

        return tag_dataframe
    raise AttributeError(f"module 'rhetoric' has no attribute {name!r}")


__all__ = ["AnyTechnique", "DEVICES", "Device", "Result", "Tag", "Tagger", "__version__", "tag", "tag_dataframe"]
