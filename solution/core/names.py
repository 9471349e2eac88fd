"""Names that become paths: a blend, run, backbone or kernel name from a user or a file is a name, never a path.

A recipe, a kernels.yaml or a kernel's output comes from elsewhere; `name: ../runs` in a recipe once made the blend
writer replace the whole runs/ folder. Every writer turns such a name into a path here, and only here.
"""

from __future__ import annotations

from pathlib import Path

from solution.core.errors import UserError

MAX_NAME_BYTES = 200  # a file name's limit is 255 bytes; leave room for the suffixes and lock files the kit adds


def name_problem(value: object) -> str | None:
    """Why `value` cannot be a folder or file name under a root of the kit's, or None when it can."""
    if not isinstance(value, str):
        return f"a {type(value).__name__}, not text"
    if not value.strip():
        return "empty"
    if value.startswith("."):
        return "hidden or a parent folder (it starts with '.')"
    if "/" in value or "\\" in value:
        return "a path (it holds a folder separator)"
    if any(ord(character) < 32 or ord(character) == 127 for character in value):
        return "holding a control character"
    if value != value.strip():
        return "starting or ending with a space"
    if len(value.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        return f"longer than {MAX_NAME_BYTES} bytes"
    return None


def checked_name(value: object, what: str, fix: str) -> str:
    """`value` if it is a plain name; else one line naming `what` gave it (an option, a file's field) and `fix`."""
    problem = name_problem(value)
    if problem:
        shown = repr(value) if not isinstance(value, str) or len(value) <= 60 else repr(value[:57] + "...")
        raise UserError(f"{what}: {shown} is not a name ({problem}); {fix}")
    return str(value)


def named_path(root: Path, value: object, what: str, fix: str, suffix: str = "") -> Path:
    """root/<value><suffix>, for a `value` that is a plain name: never outside `root`, never `root` itself."""
    return Path(root) / f"{checked_name(value, what, fix)}{suffix}"
