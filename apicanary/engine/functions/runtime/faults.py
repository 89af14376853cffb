"""Error objects for failures of the execution environment itself, worded as Lambda words them.

Handler exceptions are reported by the worker (see :mod:`.bootstrap`); these are the cases
where the worker cannot report anything because it is gone: timeout, crash, out of memory.
Exit descriptions follow the Go ``os/exec`` wording Lambda's runtime API uses
(``exit status 3``, ``signal: segmentation fault``).
"""

from __future__ import annotations

import signal

import orjson

TIMED_OUT = "Sandbox.Timedout"
EXIT_ERROR = "Runtime.ExitError"
OUT_OF_MEMORY = "Runtime.OutOfMemory"

_SIGNAL_NAMES = {
    signal.SIGABRT: "aborted",
    signal.SIGBUS: "bus error",
    signal.SIGFPE: "floating point exception",
    signal.SIGHUP: "hangup",
    signal.SIGILL: "illegal instruction",
    signal.SIGINT: "interrupt",
    signal.SIGKILL: "killed",
    signal.SIGPIPE: "broken pipe",
    signal.SIGQUIT: "quit",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGTERM: "terminated",
    signal.SIGTRAP: "trace/breakpoint trap",
    signal.SIGUSR1: "user defined signal 1",
    signal.SIGUSR2: "user defined signal 2",
}


def describe_exit(returncode: int) -> str:
    """``Popen.returncode`` in Lambda's words: ``exit status 3``, ``signal: killed``..."""
    if returncode >= 0:
        return f"exit status {returncode}"
    try:
        name = _SIGNAL_NAMES.get(signal.Signals(-returncode), f"signal {-returncode}")
    except ValueError:
        name = f"signal {-returncode}"
    return f"signal: {name}"


def exit_message(request_id: str, returncode: int) -> str:
    """``RequestId: <id> Error: Runtime exited ...``; status 0 means the handler exited itself."""
    if returncode == 0:
        return f"RequestId: {request_id} Error: Runtime exited without providing a reason"
    return f"RequestId: {request_id} Error: Runtime exited with error: {describe_exit(returncode)}"


def timeout_message(request_id: str, timeout_s: float) -> str:
    return f"RequestId: {request_id} Error: Task timed out after {timeout_s:.2f} seconds"


def error_payload(error_type: str, message: str) -> bytes:
    """The error object Invoke returns for a runtime-level failure (no stack trace)."""
    return orjson.dumps({"errorMessage": message, "errorType": error_type})
