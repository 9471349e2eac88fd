"""One exception type for problems the user can fix; the CLI prints it as one line."""


class UserError(Exception):
    """A problem with the user's input or set-up, with the fix in its message."""


def last_line(output: str) -> str:
    """The last non-empty line of a tool's output: what a one-line error quotes."""
    return next((line.strip() for line in reversed(output.splitlines()) if line.strip()), "no output")
