"""Lists of names given on the command line (``--generators a,b``): parsed once, checked
before any work starts."""

from __future__ import annotations

from collections.abc import Iterable

from gentune.errors import GentuneError

__all__ = ["split_names", "unique_names"]


def split_names(text: str) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``."""
    return [name.strip() for name in text.split(",") if name.strip()]


def unique_names(names: Iterable[str], option: str, example: str) -> list[str]:
    """Stripped, each once (a name given twice would be run and counted twice); at least one."""
    unique = list(dict.fromkeys(name.strip() for name in names if name.strip()))
    if not unique:
        raise GentuneError(f"{option} names nothing; give one or more names, comma-separated "
                           f"(for example {example})")
    return unique
