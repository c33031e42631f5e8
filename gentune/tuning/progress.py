"""A progress bar for a study: trials finished of the budget, best so far, elapsed time."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

import optuna
from optuna.trial import TrialState

from gentune.metrics import Strategy

__all__ = ["Progress"]


class Progress:
    def __init__(self, study: optuna.Study, total: int, strategy: Strategy,
                 enabled: bool = True, deadline: float | None = None) -> None:
        self.study, self.total, self.strategy = study, total, strategy
        self.deadline = deadline  # time.monotonic() after which no trial starts
        self.bar: Any = None
        self._seen = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()  # the trial loop and the workers' watcher both update
        if enabled:
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

    def update(self) -> None:
        if self.bar is None:
            return
        with self._lock:
            self._update()

    def _update(self) -> None:
        trials = self.study.get_trials(deepcopy=False)
        finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)
                    or (t.state == TrialState.FAIL and t.user_attrs.get("fail_reason")
                        not in ("worker died", "interrupted"))]
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        best = max((t.user_attrs.get("objective", t.values[0]) for t in complete), default=None)
        pruned = sum(t.state == TrialState.PRUNED for t in trials)
        failed = sum(t.state == TrialState.FAIL for t in trials)
        postfix = f", best {self.strategy.name} {best:.4f}" if best is not None else ""
        postfix += f", {pruned} pruned" if pruned else ""
        postfix += f", {failed} failed" if failed else ""
        running = sum(t.state == TrialState.RUNNING for t in trials)
        if self.deadline is not None and time.monotonic() > self.deadline and running:
            postfix += f", time is up: finishing {running} running"
        self.bar.set_postfix_str(postfix.lstrip(", "), refresh=False)
        done = min(len(finished), self.total)
        self.bar.update(done - self._seen)
        self._seen = done

    def close(self) -> None:
        self._stop.set()
        if self.bar is not None:
            self.update()
            self.bar.close()
