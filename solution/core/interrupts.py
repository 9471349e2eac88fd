"""Ctrl+C is a quiet stop at every moment, including start-up and the callbacks Python cannot raise from."""

from __future__ import annotations

import sys

_ignored_interruptions: list[type[KeyboardInterrupt]] = []
_report_unraisable = sys.__unraisablehook__
_interrupted_while_starting = False


def _note_and_raise_interrupt(signum, frame) -> None:
    global _interrupted_while_starting
    _interrupted_while_starting = True
    raise KeyboardInterrupt


def _raise_ignored_interruption(signum, frame) -> None:
    if _ignored_interruptions:  # an alarm of anyone else's is no interruption
        raise _ignored_interruptions.pop()()


def _redeliver_or_report(unraisable) -> None:
    if unraisable.exc_type is not None and issubclass(unraisable.exc_type, KeyboardInterrupt):
        import signal

        _ignored_interruptions.append(unraisable.exc_type)
        signal.setitimer(signal.ITIMER_REAL, 0.01)  # a moment later, back in ordinary code, it can propagate
        return
    _report_unraisable(unraisable)


def redeliver_ignored_interrupts() -> None:
    """Ctrl+C (or SIGTERM) that lands in a callback Python cannot raise from (importlib's module-lock weakref
    callback, a __del__) is printed as 'Exception ignored ... Traceback' and lost, and the command runs on; raise it
    again where it can stop the command. Main thread of a POSIX process only (it needs SIGALRM)."""
    import signal
    import threading

    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        return
    global _report_unraisable
    signal.signal(signal.SIGALRM, _raise_ignored_interruption)
    if sys.unraisablehook is not _redeliver_or_report:  # installed once; whatever reported errors before still does
        _report_unraisable, sys.unraisablehook = sys.unraisablehook, _redeliver_or_report


class quiet_start:  # noqa: N801 (used as a statement: `with quiet_start():`)
    """Wrap a script's imports: Ctrl+C while the libraries load is one line and exit code 130, not a traceback.
    A plain class, not contextlib's: the fewer imports before it, the shorter the moment it cannot cover."""

    def __enter__(self) -> None:
        try:
            redeliver_ignored_interrupts()
            import signal

            signal.signal(signal.SIGINT, _note_and_raise_interrupt)
        except KeyboardInterrupt:  # while `signal` itself loads
            self.__exit__(KeyboardInterrupt, None, None)

    def __exit__(self, kind, error, trace) -> None:
        # A library's C code may turn the interrupt into another error (numpy: "ImportError: PyCapsule_Import could
        # not import module datetime") and drop it; the note says it was Ctrl+C all the same.
        if kind is not None and (issubclass(kind, KeyboardInterrupt) or _interrupted_while_starting):
            print("interrupted while starting; nothing was changed", file=sys.stderr)
            raise SystemExit(130) from None
