"""The worker process: fits and samples generators on request.

Runs as ``python -m gentune.workers.child`` in the main environment or in a generator's own
environment (synthcity), where only this package's light modules are importable. Requests
and replies are JSON lines; data travels as Parquet files. The protocol uses a private copy
of stdout: anything a library prints goes to stderr, which the parent writes to a log.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any, TextIO

from gentune.raised_where import error_text
from gentune.workers.parent import when_parent_gone

__all__ = ["main"]


def _load(target: str) -> Any:
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


class _Child:
    def __init__(self, channel: TextIO) -> None:
        self.channel = channel
        self.generator: Any = None

    def send(self, message: dict[str, Any]) -> None:
        self.channel.write(json.dumps(message, default=str) + "\n")
        self.channel.flush()

    def receive(self) -> dict[str, Any] | None:
        line = sys.stdin.readline()
        return json.loads(line) if line else None

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        command = request.get("cmd")
        if command == "ping":
            return {"ok": True, "pid": os.getpid(), "python": sys.executable,
                    "threads": _thread_counts()}
        if command == "fit":
            return self.fit(request)
        if command == "sample":
            return self.sample(request)
        if command == "import":  # warm the worker: pay a library's import before timing starts
            for name in request.get("modules", []):
                importlib.import_module(name)
            return {"ok": True}
        if command == "call":  # a module-level helper, e.g. describing a library's space
            return {"ok": True, "result": _load(request["target"])(**request.get("kwargs", {}))}
        if command == "reset":
            # Passed on to another session: drop the fitted model, and write what libraries
            # print to that session's log. Sent at hand-back and again at hand-over; the
            # second finds no model, and nothing to collect.
            if self.generator is not None:
                self.generator = None
                gc.collect()
            _write_output_to(request.get("log"))
            return {"ok": True}
        return {"ok": False, "error": f"unknown command {command!r}"}

    def fit(self, request: dict[str, Any]) -> dict[str, Any]:
        import pandas as pd

        from gentune.generators.base import FitMonitor, StopFit

        started = time.perf_counter()
        self.generator = None
        generator = _load(request["generator"])()
        train = pd.read_parquet(request["train"])
        work_dir = Path(request["work_dir"])
        paused = 0.0

        def report(epoch: int, sample: Any) -> None:
            nonlocal paused
            path = work_dir / f"checkpoint-{epoch}.parquet"
            sample(int(request.get("checkpoint_rows", 500))).to_parquet(path)
            waited = time.perf_counter()
            self.send({"event": "checkpoint", "epoch": epoch, "path": str(path)})
            answer = self.receive()
            paused += time.perf_counter() - waited
            if answer is None or answer.get("cmd") == "stop":
                raise StopFit(epoch)

        checkpoints = request.get("checkpoints") or []
        monitor = FitMonitor(checkpoints, report) if checkpoints else None
        try:
            generator.fit(train, request["schema"], request["params"], int(request["seed"]),
                          monitor=monitor, endpoint=request.get("endpoint"))
        except StopFit as stop:
            return {"ok": False, "pruned": True, "epoch": stop.args[0] if stop.args else None,
                    "seconds": time.perf_counter() - started - paused}
        self.generator = generator
        return {"ok": True, "seconds": time.perf_counter() - started - paused}

    def sample(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.generator is None:
            return {"ok": False, "error": "no fitted generator in this worker; send 'fit' first"}
        started = time.perf_counter()
        frame = self.generator.sample(int(request["n"]), int(request["seed"]))
        frame.columns = [str(column) for column in frame.columns]
        frame.reset_index(drop=True).to_parquet(request["out"])
        return {"ok": True, "path": request["out"], "rows": len(frame),
                "seconds": time.perf_counter() - started}


def _thread_counts() -> dict[str, Any]:
    counts: dict[str, Any] = {"omp": os.environ.get("OMP_NUM_THREADS")}
    if "torch" in sys.modules:
        counts["torch"] = sys.modules["torch"].get_num_threads()
    import joblib

    counts["joblib"] = joblib.cpu_count()  # the processes n_jobs=-1 starts here
    return counts


def _limit_threads() -> None:
    threads = int(os.environ.get("GENTUNE_THREADS", "1"))
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(max(1, threads))


def _write_output_to(path: str | None) -> None:
    """Point stderr and file descriptor 1 (which ``main`` joined to it; the replies have a
    copy of their own) at ``path``, or at nothing."""
    sys.stderr.flush()
    target = os.open(path or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        for descriptor in (1, 2):
            os.dup2(target, descriptor)
    finally:
        os.close(target)


def _exit_now() -> None:
    """Exit without the interpreter's teardown of torch's and the generator libraries'
    modules (most of a second each time a worker stops); exit handlers (temporary
    folders, joblib's processes) still run and the log is flushed first."""
    atexit._run_exitfuncs()
    sys.stderr.flush()
    os._exit(0)


def main() -> None:
    # The parent enforces this process's time and memory limits, and this process runs in a
    # session of its own (no hang-up reaches it): without the parent, stop rather than
    # finish a fit unseen beside the parent's next run.
    when_parent_gone(os.getppid(), lambda: os._exit(1))
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    _limit_threads()
    child = _Child(channel)
    child.send({"ready": True, "pid": os.getpid()})
    while True:
        request = child.receive()
        if request is None or request.get("cmd") == "exit":
            _exit_now()
        try:
            reply = child.handle(request)
        except Exception as exc:  # reported to the parent, which records the trial as failed
            traceback.print_exc()
            reply = {"ok": False, "error": error_text(exc)}
        child.send(reply)


if __name__ == "__main__":
    main()
