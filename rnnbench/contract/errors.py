"""Errors that the CLI turns into one line on stderr and a non-zero exit code."""


class RnnbenchError(Exception):
    """A problem the user can fix; its message is one line naming what and where."""

    exit_code = 2


class ConfigError(RnnbenchError):
    """A bad option, value, config file key, or model/task name."""


class IncompatibleError(RnnbenchError):
    """A model and task that cannot be combined, with the reason."""


class DataError(RnnbenchError):
    """Unreadable, missing or malformed input data (names the file, line or option)."""


class PluginError(RnnbenchError):
    """A plugin failed to load or registered a duplicate name (fatal only when strict), or
    its code raised while a run used it (`plugin_call`)."""


def plugin_call(label: str, what: str, function, *args, **kwargs):
    """function(*args, **kwargs), with an unexpected exception turned into one
    PluginError line: "LABEL: WHAT raised Type: message" (the original chained as its
    cause, for the traceback log). An RnnbenchError (a plugin's own one-line refusal, e.g.
    a bad option) passes through unchanged."""
    try:
        return function(*args, **kwargs)
    except RnnbenchError:
        raise
    except Exception as exc:
        raise PluginError(f"{label}: {what} raised {reason(exc)}") from exc


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived; raised by the handlers that `rnnbench` installs.

    A BaseException that is *not* KeyboardInterrupt, on purpose: Lightning turns a
    KeyboardInterrupt into `sys.exit(1)` and Optuna logs it as a failed trial with its
    traceback, while both let any other BaseException pass. Whoever started a tracked run
    or a trial marks it KILLED / FAIL on the way out; the CLI prints one line and exits
    with 128 + the signal number (130 for SIGINT, 143 for SIGTERM).
    """

    # The first SIGINT/SIGTERM this process received, set by the CLI's handler: an error
    # raised after it (a DDP peer's broken connection, say) is a consequence of the
    # signal, reported and recorded as the interruption, not as a crash.
    pending: int | None = None

    def __init__(self, signum: int) -> None:
        import signal

        self.signum = int(signum)
        self.name = signal.Signals(self.signum).name
        super().__init__(self.name)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    @property
    def word(self) -> str:
        """'interrupted' (SIGINT, Ctrl-C) or 'terminated' (SIGTERM and the rest)."""
        import signal

        return "interrupted" if self.signum == signal.SIGINT else "terminated"


def reason(exc: BaseException) -> str:
    """'Type: first line of its message' (or just 'Type'), for one-line error messages."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__
