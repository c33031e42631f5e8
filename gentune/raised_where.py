"""An exception as one line that says where a library raised it.

Standard library only: the generator worker imports it in the synthcity environment too.
"""

from __future__ import annotations

import traceback
from pathlib import Path

__all__ = ["error_text"]


def error_text(exc: BaseException) -> str:
    """The exception's type and text, and, when a library raised it, where: a generator
    library's own checks (synthcity's early stopping scoring rows a diverged model drew, say)
    raise errors whose text alone reads as gentune's. The place is the innermost frame of
    the library that the first frame outside gentune and the standard library belongs to."""
    text = f"{type(exc).__name__}: {exc}"
    libraries = []
    for frame in traceback.extract_tb(exc.__traceback__):
        parts = Path(frame.filename).parts
        folder = next((name for name in ("site-packages", "dist-packages") if name in parts), None)
        inside = parts[parts.index(folder) + 1:] if folder else ()
        if len(inside) > 1 and inside[0] != "gentune":
            libraries.append((inside, frame))
    if not libraries:
        return text
    library = libraries[0][0][0]
    inside, frame = [entry for entry in libraries if entry[0][0] == library][-1]
    return f"{text} (raised in {library}: {'/'.join(inside[1:])}, line {frame.lineno})"
