"""The worker process: one Lambda execution environment running one handler.

Run by the engine as
``python -B -m apicanary.engine.functions.runtime.bootstrap REQ_FD RESP_FD`` with the
function's environment already set (its variables plus AWS's reserved ones), the cwd at
``LAMBDA_TASK_ROOT`` and stdout/stderr on the engine's log pipe. It imports the handler once
(init), says ``ready`` (or reports the init error and exits), then serves one request at a
time until the request pipe closes. Frames are described in :mod:`.wire`.

Error objects and log lines follow the AWS Python runtime (``awslambdaric``): exceptions
become ``{"errorMessage", "errorType", "requestId", "stackTrace"}`` and are logged as
``[ERROR] Type: message`` plus the traceback; ``SystemExit`` is not caught, so the process
exits and the engine reports ``Runtime.ExitError`` as AWS does.

Imports are kept minimal: everything imported here is paid on every cold start.
"""

from __future__ import annotations

import decimal
import fcntl
import importlib
import json
import logging
import os
import resource
import sys
import termios
import time
import traceback
from collections.abc import Callable
from typing import Any, BinaryIO

import orjson

from apicanary.engine.functions.runtime.context import LambdaContext
from apicanary.engine.functions.runtime.wire import ENGINE_ROOT_VAR, HEADER, frame

Handler = Callable[[Any, LambdaContext], Any]
ErrorObject = dict[str, Any]

_ORJSON_OPTIONS = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS
)
_RSS_DIVISOR = 1024 * 1024 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes vs KiB


class _InitFault(Exception):
    def __init__(self, error_type: str, message: str, stack: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.stack = stack or []


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _RequestIdFilter.request_id
        return True


def _setup_logging() -> None:
    """The root logger writes ``[LEVEL]\\t<utc time>\\t<request id>\\t<message>`` like Lambda's."""
    handler = logging.StreamHandler(sys.stdout)
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
        "%Y-%m-%dT%H:%M:%S",
    )
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(_RequestIdFilter())
    logging.getLogger().addHandler(handler)


def _error_object(exc: BaseException, request_id: str) -> ErrorObject:
    """AWS's error object; the runtime's own leading frames are left out of the trace."""
    frames = traceback.extract_tb(exc.__traceback__)
    while frames and (frames[0].filename == __file__ or frames[0].filename.startswith("<frozen")):
        del frames[0]
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(frames),
    }


def _log_error(error: ErrorObject) -> None:
    lines = [f"[ERROR] {error['errorType']}: {error['errorMessage']}"]
    lines.append("Traceback (most recent call last):")
    for entry in error.get("stackTrace", []):
        lines.extend(entry.splitlines())
    sys.stderr.write("\n".join(lines) + "\n")


def _fault_handler(error_type: str, message: str) -> Handler:
    def fault(event: Any, context: LambdaContext) -> Any:
        raise _InitFault(error_type, message)

    return fault


def _load_handler(spec: str) -> Handler:
    """Import ``module.function`` (``pkg/mod.fn`` allowed) the way the AWS runtime does."""
    try:
        module_name, function_name = spec.rsplit(".", 1)
    except ValueError as exc:
        raise _InitFault("Runtime.MalformedHandlerName", f"Bad handler '{spec}': {exc}") from None
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise _InitFault(
            "Runtime.BuiltInModuleConflict",
            f"Cannot use built-in module {module_name} as a handler module",
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise _InitFault(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        ) from None
    except SyntaxError as exc:
        where = f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}'
        raise _InitFault(
            "Runtime.UserCodeSyntaxError",
            f"Syntax error in module '{module_name}': {exc}",
            [where],
        ) from None
    handler = getattr(module, function_name, None)
    if handler is None:
        # As on AWS, a missing handler is reported by every invocation, not by init.
        message = f"Handler '{function_name}' missing on module '{module_name}'"
        return _fault_handler("Runtime.HandlerNotFound", message)
    return handler  # type: ignore[no-any-return]


def _decimal_default(value: object) -> object:
    if isinstance(value, decimal.Decimal):
        return float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _marshal(result: Any) -> bytes:
    """JSON-encode a handler result with the AWS runtime's rules (orjson first, for speed).

    orjson refuses what stdlib json would refuse plus a few things it would accept (ints
    beyond 64 bits, NaN...), so a refusal is retried with stdlib json, whose error message
    (``Object of type set is not JSON serializable``) is the one AWS shows.
    """
    try:
        return orjson.dumps(result, default=_decimal_default, option=_ORJSON_OPTIONS)
    except TypeError:
        return json.dumps(result, default=_decimal_default).encode()


def _send(fd: int, meta: dict[str, Any], body: bytes = b"") -> None:
    data = memoryview(b"".join(frame(meta, body)))
    while data:
        data = data[os.write(fd, data) :]


def _flush_output() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass


def _read_exact(reader: BinaryIO, size: int) -> bytes | None:
    data = reader.read(size)
    if len(data) < size:
        return None
    return data


class _PeakRss:
    """This worker's peak RSS in MB (rounded up), read once per invocation.

    ``VmHWM`` from /proc is the high-water mark of this process's own address space, which
    starts afresh at exec. ``ru_maxrss`` is not a substitute on Linux: execve folds the
    previous address space's high-water mark into it, so a worker spawned by a large engine
    process would "use" the engine's RSS and be killed as out of memory. The status file is
    opened once and re-read with ``pread`` (half the cost of opening it per invocation).
    """

    fd: int | None = None

    @classmethod
    def mb(cls) -> int:
        try:
            if cls.fd is None:
                cls.fd = os.open("/proc/self/status", os.O_RDONLY)
            data = os.pread(cls.fd, 8192, 0)
            at = data.index(b"VmHWM:") + 6
            return -(-int(data[at : data.index(b"kB", at)]) // 1024)  # kB
        except (OSError, ValueError):
            pass
        return -(-resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // _RSS_DIVISOR)


class _Usage:
    """What the engine would otherwise read from /proc per invocation, read here instead.

    The engine's event loop is the gateway's bottleneck; a system call made here, in the
    worker, is one it does not make. Per reply:

    * ``c``, ``q``: this process's nanoseconds on a CPU (``CLOCK_THREAD_CPUTIME_ID``, which
      counts the running slice too) and queued for one (schedstat's run delay, complete while
      the process runs) — the counters the engine's CPU probe reads from
      ``/proc/<pid>/schedstat``, so its readings and these can be subtracted;
    * ``o``: whether output is still unread in the log pipe after the flush (``FIONREAD``);
      when not, everything this invocation printed has already reached the engine and it
      skips a read of the log pipe that would find it empty.
    """

    fd: int | None = None
    failed = False

    @classmethod
    def add(cls, reply: dict[str, Any]) -> None:
        try:
            pending = fcntl.ioctl(1, termios.FIONREAD, b"\0\0\0\0")
            reply["o"] = int.from_bytes(pending, sys.byteorder) > 0
        except OSError:
            pass  # absent: the engine reads the log pipe
        if cls.failed:
            return
        try:
            if cls.fd is None:
                cls.fd = os.open("/proc/self/schedstat", os.O_RDONLY)
            queued = int(os.pread(cls.fd, 96, 0).split()[1])
            reply["c"] = time.thread_time_ns()
            reply["q"] = queued
        except (OSError, IndexError, ValueError):
            cls.failed = True  # no schedstat here (macOS): the engine measures, or not


def _invoke(handler: Handler, meta: dict[str, Any], body: bytes) -> tuple[dict[str, Any], bytes]:
    request_id: str = meta["id"]
    _RequestIdFilter.request_id = request_id
    context = LambdaContext(request_id, meta["arn"], meta["dl"])
    start = time.perf_counter()
    reply: dict[str, Any]
    try:
        event = orjson.loads(body) if body else None
        result = handler(event, context)
    except _InitFault as fault:
        error = {
            "errorMessage": str(fault),
            "errorType": fault.error_type,
            "requestId": request_id,
            "stackTrace": fault.stack,
        }
        _log_error(error)
        reply = {"t": "err", "type": fault.error_type}
        payload = orjson.dumps(error)
    except Exception as exc:
        error = _error_object(exc, request_id)
        _log_error(error)
        reply = {"t": "err", "type": error["errorType"]}
        payload = orjson.dumps(error)
    else:
        try:
            payload = _marshal(result)
            reply = {"t": "ok"}
        except (TypeError, ValueError) as exc:
            error = {
                "errorMessage": f"Unable to marshal response: {exc}",
                "errorType": "Runtime.MarshalError",
                "requestId": request_id,
                "stackTrace": [],
            }
            _log_error(error)
            reply = {"t": "err", "type": "Runtime.MarshalError"}
            payload = orjson.dumps(error)
    reply["d"] = (time.perf_counter() - start) * 1000.0
    reply["m"] = _PeakRss.mb()
    return reply, payload


def _isolate_sys_path(task_root: str) -> None:
    """Put the code first; drop what the engine added to find apicanary."""
    engine_root = os.environ.pop(ENGINE_ROOT_VAR, None)
    if engine_root is not None:
        user_path = os.environ.pop("PYTHONPATH", "").split(os.pathsep)[1:]
        if user_path:
            os.environ["PYTHONPATH"] = os.pathsep.join(user_path)
    dropped = {"", os.getcwd(), engine_root}
    sys.path[:] = [task_root] + [p for p in sys.path if p not in dropped]


def main(argv: list[str]) -> int:
    """Serve requests from ``argv[1]`` (read fd), answering on ``argv[2]`` (write fd)."""
    request_fd, response_fd = int(argv[1]), int(argv[2])
    os.set_inheritable(request_fd, False)
    os.set_inheritable(response_fd, False)
    reader = os.fdopen(request_fd, "rb", buffering=256 * 1024)
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    _isolate_sys_path(os.environ["LAMBDA_TASK_ROOT"])
    _setup_logging()

    try:
        handler = _load_handler(os.environ["_HANDLER"])
    except _InitFault as fault:
        error: ErrorObject = {
            "errorMessage": str(fault),
            "errorType": fault.error_type,
            "requestId": "",
            "stackTrace": fault.stack,
        }
        return _init_failed(response_fd, error)
    except Exception as exc:
        return _init_failed(response_fd, _error_object(exc, ""))
    _flush_output()
    _send(response_fd, {"t": "ready"})

    while True:
        header = _read_exact(reader, HEADER.size)
        if header is None:
            return 0
        meta_len, body_len = HEADER.unpack(header)
        meta_bytes = _read_exact(reader, meta_len)
        body = _read_exact(reader, body_len)
        if meta_bytes is None or body is None:
            return 0
        reply, payload = _invoke(handler, orjson.loads(meta_bytes), body)
        _flush_output()
        _Usage.add(reply)
        _send(response_fd, reply, payload)


def _init_failed(response_fd: int, error: ErrorObject) -> int:
    _log_error(error)
    _flush_output()
    _send(response_fd, {"t": "init_error", "type": error["errorType"]}, orjson.dumps(error))
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
