"""One exception type for problems the user can fix; the CLI prints it as one line."""


class UserError(Exception):
    """A problem with the user's input or set-up, with the fix in its message."""
