"""Progress of a study: trials finished of the budget, best so far, elapsed time.

On a terminal, a bar redrawn every second. Anywhere else (a log file, a batch job, CI) a
redraw is a new line, so there it writes one line per finished trial and one at the end.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO

import optuna
from optuna.trial import FrozenTrial, TrialState

from gentune.metrics import Strategy
from gentune.tuning.attempts import fail_reason, latest_attempts
from gentune.tuning.storage import heartbeat_enabled

__all__ = ["Progress"]

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


class Progress:
    def __init__(self, study: optuna.Study, total: int, strategy: Strategy,
                 enabled: bool = True, deadline: float | None = None) -> None:
        self.study, self.total, self.strategy = study, total, strategy
        self.deadline = deadline  # time.monotonic() after which no trial starts
        self.bar: Any = None
        self.stream: TextIO | None = None  # set when writing lines instead of a bar
        self._started = time.monotonic()
        self._seen = 0
        self._written: set[int] = set()  # trials whose line is written
        self._said_time_is_up = False
        self._stop = threading.Event()
        self._lock = threading.Lock()  # the trial loop and the workers' watcher both update
        self._heartbeat = heartbeat_enabled(study._storage)
        if not enabled:
            return
        if not getattr(sys.stderr, "isatty", lambda: False)():
            self.stream = sys.stderr
            # Trials a resumed study had already finished get no line of their own.
            self._written = {t.number for t in self._finished()}
            return
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc=f"tuning {study.study_name}", unit="trial",
                        file=sys.stderr, dynamic_ncols=True,
                        bar_format="{desc}: {n_fmt}/{total_fmt} trials |{bar}| "
                                   "{elapsed} elapsed{postfix}")
        self.update()
        # Trials take minutes: keep the elapsed time moving between them.
        threading.Thread(target=self._refresh, daemon=True).start()

    def _refresh(self) -> None:
        while not self._stop.wait(1.0):
            self.bar.refresh()

    def _finished(self) -> list[FrozenTrial]:
        # A slot's latest attempt: an interrupted attempt run again is not a finished trial.
        slots = latest_attempts(self.study.get_trials(deepcopy=False))
        return [t for t in slots if t.state in FINISHED]

    def _postfix(self, finished: list[FrozenTrial]) -> str:
        complete = [t for t in finished if t.state == TrialState.COMPLETE]
        best = max((t.user_attrs.get("objective", t.values[0]) for t in complete), default=None)
        pruned = sum(t.state == TrialState.PRUNED for t in finished)
        failed = sum(t.state == TrialState.FAIL for t in finished)
        postfix = f", best {self.strategy.name} {best:.4f}" if best is not None else ""
        postfix += f", {pruned} pruned" if pruned else ""
        postfix += f", {failed} failed" if failed else ""
        return postfix.lstrip(", ")

    def _time_is_up(self) -> str:
        if self.deadline is None or time.monotonic() <= self.deadline:
            return ""
        running = len(self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))
        return f"time is up: finishing {running} running" if running else ""

    def update(self) -> None:
        if self.bar is None and self.stream is None:
            return
        with self._lock:
            if self.bar is not None:
                self._update_bar()
            else:
                self._write_lines()

    def _update_bar(self) -> None:
        finished = self._finished()
        postfix = ", ".join(part for part in (self._postfix(finished), self._time_is_up())
                            if part)
        self.bar.set_postfix_str(postfix, refresh=False)
        done = min(len(finished), self.total)
        self.bar.update(done - self._seen)
        self._seen = done

    def _outcome(self, trial: FrozenTrial) -> str:
        if trial.state == TrialState.COMPLETE:
            value = trial.user_attrs.get("objective", trial.values[0])
            return f"complete, {self.strategy.name} {value:.4f}"
        if trial.state == TrialState.PRUNED:
            epoch = trial.user_attrs.get("pruned_at_epoch")
            return "pruned" + (f" at epoch {epoch}" if epoch is not None else "")
        return f"failed: {fail_reason(trial, self._heartbeat)}"

    def _line(self, text: str) -> None:
        elapsed = _clock(time.monotonic() - self._started)
        print(f"tuning {self.study.study_name}: {text}, {elapsed} elapsed", file=self.stream,
              flush=True)

    def _write_lines(self) -> None:
        finished = self._finished()
        done = f"{min(len(finished), self.total)}/{self.total} trials"
        for trial in finished:
            if trial.number not in self._written:
                self._written.add(trial.number)
                self._line(f"trial {trial.number} {self._outcome(trial)}; {done}, "
                           f"{self._postfix(finished)}")
        time_is_up = self._time_is_up()
        if time_is_up and not self._said_time_is_up:
            self._said_time_is_up = True
            self._line(time_is_up)

    def close(self) -> None:
        self._stop.set()
        if self.bar is not None:
            self.update()
            self.bar.close()
        elif self.stream is not None:
            self.update()
            with self._lock:
                finished = self._finished()
                self._line(f"finished {min(len(finished), self.total)}/{self.total} trials"
                           + (f", {self._postfix(finished)}" if finished else ""))
