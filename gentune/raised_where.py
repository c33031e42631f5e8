"""An exception as one line that says where a library raised it.

Standard library only: the generator worker imports it in the synthcity environment too.
"""

from __future__ import annotations

import os
import sysconfig
import traceback
from pathlib import Path

__all__ = ["error_text"]

# The standard library's folders (a virtual environment's base Python's).
_PYTHON_FOLDERS = {os.path.abspath(sysconfig.get_paths()[key]) for key in ("stdlib", "platstdlib")}


def error_text(exc: BaseException) -> str:
    """The exception's type and text, and, when a library raised it, where: a generator
    library's own checks (synthcity's early stopping scoring rows a diverged model drew, say)
    raise errors whose text alone reads as gentune's. The place is the innermost frame in a
    library; when another library called that one, its calling frame is named too (a check
    in scikit-learn says little until one knows synthcity's detection metric called it).
    Code of gentune's (or a script's) run by a library, as a training callback is, raised
    what it raises itself: no library is named then."""
    text = f"{type(exc).__name__}: {exc}"
    frames = traceback.extract_tb(exc.__traceback__)
    inside = [_library_path(frame.filename) for frame in frames]
    raised = max((index for index, path in enumerate(inside) if path), default=None)
    if raised is None or any(_own(frame.filename) for frame in frames[raised + 1:]):
        return text
    library = inside[raised][0]
    entry = raised  # the first frame of the raising library's innermost run of frames
    while entry > 0 and inside[entry - 1] and inside[entry - 1][0] == library:
        entry -= 1
    where = _place(inside[raised], frames[raised].lineno)
    # The library that called it, past any standard-library frames in between (a decorator).
    caller = entry - 1
    while caller >= 0 and not inside[caller] and not _own(frames[caller].filename):
        caller -= 1
    if caller >= 0 and inside[caller]:
        where += f", called from {_place(inside[caller], frames[caller].lineno)}"
    return f"{text} (raised in {where})"


def _own(filename: str) -> bool:
    """A file of gentune's or a script's: neither a third-party library's nor Python's own."""
    installed = _site_packages_path(filename)
    if installed is not None:
        return installed[:1] == ("gentune",)
    if filename.startswith("<"):  # <frozen ...>, <string>
        return False
    return not any(_within(filename, folder) for folder in _PYTHON_FOLDERS)


def _within(filename: str, folder: str) -> bool:
    try:
        return os.path.commonpath([filename, folder]) == folder
    except ValueError:  # another drive
        return False


def _site_packages_path(filename: str) -> tuple[str, ...] | None:
    """The path inside site-packages (or dist-packages) of an installed file; None for others."""
    parts = Path(filename).parts
    folder = next((name for name in ("site-packages", "dist-packages") if name in parts), None)
    return parts[parts.index(folder) + 1:] if folder else None


def _library_path(filename: str) -> tuple[str, ...]:
    """The path inside site-packages of a third-party library's file; empty for gentune's
    own files, the standard library's and a script's."""
    inside = _site_packages_path(filename) or ()
    return inside if len(inside) > 1 and inside[0] != "gentune" else ()


def _place(inside: tuple[str, ...], line: int | None) -> str:
    return f"{inside[0]}: {'/'.join(inside[1:])}, line {line}"
