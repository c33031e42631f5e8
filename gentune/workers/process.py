"""The parent's handle on a worker process: requests with a time and a memory limit.

A worker stays warm between trials, and between sessions (``gentune.workers.pool``), so
imports are paid once. One that overruns its time, exceeds its memory, crashes or is killed
from outside is replaced, and the request fails with a ``TrialFailure`` whose reason says
which of these happened.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import psutil

import gentune
from gentune.errors import TrialFailure

__all__ = ["WorkerProcess", "THREAD_VARIABLES"]

# Each holds a library's pool to the worker's share of the cores. joblib's (through
# LOKY_MAX_CPU_COUNT) matters too: ctgan encodes tables of 500+ rows with n_jobs=-1, which
# would start a process per core in every worker.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "LOKY_MAX_CPU_COUNT")
_POLL_SECONDS = 0.2
# Requests that use what an earlier 'fit' left in the worker's memory.
_NEEDS_FITTED_MODEL = frozenset({"sample"})


def this_gentune(env: Mapping[str, str], first: Sequence[str] = ()) -> dict[str, str]:
    """``env`` for a ``python -m`` child that imports the gentune this process runs.

    'python -m' would put the working directory first on the path: a user's sdv.py or
    torch.py there, or another gentune checkout, would shadow the library in the child but
    not in its parent. PYTHONSAFEPATH drops it; this gentune's folder goes on the path
    instead (also where it was imported from the working directory: a checkout run with
    'python -m gentune'), after ``first`` and before the parent's PYTHONPATH."""
    paths = [*first, str(Path(gentune.__file__).resolve().parent.parent),
             *(path for path in env.get("PYTHONPATH", "").split(os.pathsep) if path)]
    return {**env, "PYTHONSAFEPATH": "1", "PYTHONPATH": os.pathsep.join(paths)}


class WorkerProcess:
    """One warm worker. ``call`` sends a request and waits for its reply."""

    def __init__(self, python: str, pythonpath: Sequence[str] = (), threads: int = 1,
                 memory_limit_mb: float | None = None, log_path: Path | None = None,
                 start_timeout: float = 120.0, preload: Sequence[str] = (),
                 isolated: bool = False) -> None:
        """``preload``: modules every start imports, within ``start_timeout`` rather than
        within the first request's time limit. ``pythonpath`` comes before the parent's
        PYTHONPATH, unless ``isolated`` (an environment of its own): then it replaces it."""
        self.python, self.pythonpath, self.isolated = python, list(pythonpath), isolated
        self.preload = tuple(preload)
        self.threads, self.memory_limit_mb = threads, memory_limit_mb
        self.log_path, self.start_timeout = log_path, start_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._buffer = b""
        self._log: IO[bytes] | None = None
        self.restarts = 0
        self.started_as: tuple[Any, ...] | None = None  # reuse_key() at the last start
        self._joining: tuple[str, ...] | None = None  # a new session's modules, until it starts
        self._killed_here = False  # by this handle (timeout, memory, interruption)
        self._model_lost: str | None = None  # how a worker holding a fit died on its own

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        for variable in THREAD_VARIABLES:
            env[variable] = str(self.threads)
        env["GENTUNE_THREADS"] = str(self.threads)
        env["PYTHONUNBUFFERED"] = "1"
        if self.isolated:
            env["PYTHONSAFEPATH"] = "1"
            if self.pythonpath:
                env["PYTHONPATH"] = os.pathsep.join(self.pythonpath)
            else:
                env.pop("PYTHONPATH", None)
            return env
        return this_gentune(env, self.pythonpath)

    def reuse_key(self) -> tuple[Any, ...]:
        """How a worker this handle starts now would start: its interpreter, working folder
        and environment (threads and library paths included). Workers started with equal
        keys are interchangeable."""
        return _start_key(self.python, self._environment())

    def release(self) -> None:
        """Drop the fitted model and stop writing to the session's log, so the process can
        wait for another session; a TrialFailure if the worker cannot."""
        self._close_log()
        self.log_path, self.memory_limit_mb = None, None
        self._joining = None  # handed to a session that sent nothing: still reset from before
        reply = self.call({"cmd": "reset", "log": None}, timeout=30)
        if not reply.get("ok"):
            raise TrialFailure("exception", f"the worker could not be reset: "
                               f"{reply.get('error')}")

    def hand_to(self, log_path: Path | None, memory_limit_mb: float | None,
                preload: Sequence[str]) -> None:
        """Serve another session, with its log, memory limit and modules, from its first
        request on (a session that never sends one leaves no log folder behind)."""
        self.log_path, self.memory_limit_mb = log_path, memory_limit_mb
        self.restarts, self._model_lost = 0, None  # counted per session
        self._joining = tuple(preload)

    def _join(self, preload: tuple[str, ...]) -> None:
        """Point the worker's output at the new session's log and import its modules; a
        worker that cannot is replaced by a fresh one."""
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
        missing = [module for module in preload if module not in self.preload]
        self.preload = preload  # what a restart imports
        try:
            log = str(self.log_path) if self.log_path else None
            reply = self.call({"cmd": "reset", "log": log}, timeout=30)
            if missing and reply.get("ok"):
                reply = self.call({"cmd": "import", "modules": missing},
                                  timeout=self.start_timeout)
        except TrialFailure:
            reply = {}
        if not reply.get("ok"):
            self.start()

    def start(self) -> None:
        self.close()
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("ab")
        env = self._environment()
        try:
            self._process = subprocess.Popen(
                [self.python, "-m", "gentune.workers.child"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=self._log if self._log else subprocess.DEVNULL,
                env=env, start_new_session=True,
            )
        except OSError as exc:  # the environment was removed or broken after it was checked
            raise TrialFailure("environment", f"the worker's Python {self.python} cannot be "
                               f"started ({exc.strerror or exc}); set its environment up "
                               f"again (for synthcity: make synthcity-env)") from None
        self.started_as = _start_key(self.python, env)
        self._killed_here = False
        self._buffer = b""
        deadline = time.monotonic() + self.start_timeout
        ready = self._read_message(deadline, "start")
        if not ready.get("ready"):
            raise TrialFailure("crashed", f"worker did not start: {ready}")
        if self.preload:
            self._send({"cmd": "import", "modules": list(self.preload)})
            imported = self._read_message(deadline, "start")
            if not imported.get("ok"):
                raise TrialFailure("exception", f"the worker could not import "
                                   f"{', '.join(self.preload)}: {imported.get('error')}")

    def ensure_started(self) -> None:
        joining, self._joining = self._joining, None
        if self.alive():
            if joining is not None:
                self._join(joining)
            return
        if joining is not None:
            self.preload = joining
        elif self._process is not None:
            self.restarts += 1
        self.start()

    def call(self, request: Mapping[str, Any], timeout: float | None = None,
             on_event: Callable[[dict[str, Any]], Mapping[str, Any]] | None = None) -> dict[str, Any]:
        """Send ``request``; answer events (checkpoints) with ``on_event``; return the reply."""
        self._check_model_kept(str(request.get("cmd")))
        self.ensure_started()
        deadline = time.monotonic() + timeout if timeout else float("inf")
        self._send(request)
        try:
            while True:
                message = self._read_message(deadline, str(request.get("cmd")), timeout)
                if "event" in message:
                    answer = on_event(message) if on_event else {"cmd": "continue"}
                    self._send(answer)
                    continue
                return message
        except BaseException:
            # Left without its reply (Ctrl-C, SIGTERM, an event handler that raised): the
            # worker is still busy with the request, and its next message would seem to
            # answer the next one. It is killed at once, not asked to exit, and replaced.
            self.kill()
            raise

    def _check_model_kept(self, command: str) -> None:
        """A worker that died on its own between requests (OOM-killed while idle) took its
        fitted model with it: a request that needs the model fails as a crash, with the cause."""
        if self._process is not None and not self._killed_here and \
                self._process.poll() is not None and self._model_lost is None:
            self._model_lost = _exit_detail(self._process.returncode)
        if command == "fit":
            self._model_lost = None
        elif command in _NEEDS_FITTED_MODEL and self._model_lost is not None:
            raise TrialFailure("crashed", self._with_log(
                f"{self._model_lost} after 'fit', losing its fitted model; fit again before "
                f"'{command}'"))

    def _send(self, message: Mapping[str, Any]) -> None:
        assert self._process is not None and self._process.stdin is not None
        try:
            self._process.stdin.write((json.dumps(message) + "\n").encode())
            self._process.stdin.flush()
        except (BrokenPipeError, OSError):
            self._fail_dead("crashed")

    def _read_message(self, deadline: float, what: str,
                      timeout: float | None = None) -> dict[str, Any]:
        assert self._process is not None and self._process.stdout is not None
        stream = self._process.stdout
        with selectors.DefaultSelector() as selector:
            selector.register(stream, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                if time.monotonic() > deadline:
                    self.kill()
                    limit = f"{timeout:.0f} s" if timeout else "its limit"
                    raise TrialFailure("timeout", f"'{what}' took longer than {limit}; the "
                                       f"worker was killed and will be replaced")
                self._check_memory()
                if selector.select(_POLL_SECONDS):
                    chunk = os.read(stream.fileno(), 1 << 16)
                    if not chunk:
                        self._fail_dead("crashed")
                    self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return json.loads(line)

    def _check_memory(self) -> None:
        if self.memory_limit_mb is None or not self.alive():
            return
        try:
            process = psutil.Process(self.pid)
            rss = process.memory_info().rss + sum(
                child.memory_info().rss for child in process.children(recursive=True))
        except psutil.Error:
            return
        used = rss / 2**20
        if used > self.memory_limit_mb:
            self.kill()
            raise TrialFailure("out of memory", f"the worker used {used:.0f} MiB, over the "
                               f"limit of {self.memory_limit_mb:.0f} MiB; it was killed")

    def _fail_dead(self, reason: str) -> None:
        assert self._process is not None
        code = self._process.wait()
        self._close_log()
        raise TrialFailure(reason, self._with_log(_exit_detail(code)))

    def _with_log(self, detail: str) -> str:
        return f"{detail}; see {self.log_path}" if self.log_path else detail

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._killed_here = True
            try:
                os.killpg(self._process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._process.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def close(self) -> None:
        """Ask the worker to exit; kill it if it does not within a few seconds."""
        if self._process is not None and self._process.poll() is None:
            try:
                self._send({"cmd": "exit"})
                self._process.wait(timeout=5)
            except (TrialFailure, subprocess.TimeoutExpired):
                pass
        self.kill()
        for pipe in (self._process.stdin, self._process.stdout) if self._process else ():
            if pipe is not None:
                pipe.close()
        self._process = None

    def __enter__(self) -> WorkerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _start_key(python: str, env: Mapping[str, str]) -> tuple[Any, ...]:
    try:
        folder: Any = os.getcwd()
    except OSError:  # the working folder was removed: a key equal to no other
        folder = object()
    return python, folder, tuple(sorted(env.items()))


def _exit_detail(code: int) -> str:
    """How a worker ended, from its exit status (negative: the signal that killed it)."""
    if code >= 0:
        return f"the worker exited with code {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:  # real-time signals have no name in the enum
        name = f"signal {-code}"
    detail = f"the worker was killed by {name}"
    if -code == signal.SIGKILL:
        detail += " (from outside, or by the system for lack of memory)"
    return detail
