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
    raise errors whose text alone reads as gentune's. The place is the innermost frame in a
    library; when another library called that one, its calling frame is named too (a check
    in scikit-learn says little until one knows synthcity's detection metric called it)."""
    text = f"{type(exc).__name__}: {exc}"
    frames = traceback.extract_tb(exc.__traceback__)
    inside = [_library_path(frame.filename) for frame in frames]
    raised = max((index for index, path in enumerate(inside) if path), default=None)
    if raised is None:
        return text
    library = inside[raised][0]
    entry = raised  # the first frame of the raising library's innermost run of frames
    while entry > 0 and inside[entry - 1] and inside[entry - 1][0] == library:
        entry -= 1
    where = _place(inside[raised], frames[raised].lineno)
    caller = inside[entry - 1] if entry > 0 else None
    if caller:
        where += f", called from {_place(caller, frames[entry - 1].lineno)}"
    return f"{text} (raised in {where})"


def _library_path(filename: str) -> tuple[str, ...]:
    """The path inside site-packages of a third-party library's file; empty for gentune's
    own files, the standard library's and a script's."""
    parts = Path(filename).parts
    folder = next((name for name in ("site-packages", "dist-packages") if name in parts), None)
    inside = parts[parts.index(folder) + 1:] if folder else ()
    return inside if len(inside) > 1 and inside[0] != "gentune" else ()


def _place(inside: tuple[str, ...], line: int | None) -> str:
    return f"{inside[0]}: {'/'.join(inside[1:])}, line {line}"
