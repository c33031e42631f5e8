"""How much memory a passed-on worker brings to its next session.

    .venv/bin/python benchmarks/worker_reuse_memory.py [--dataset actg320]
        [--generators ctgan,tvae] [--epochs 30] [--sessions 3]

A session's ``--memory-limit`` is checked against its worker's resident memory. A worker
passed on from an earlier session keeps what its earlier fits left (libraries loaded on
first use, memory the allocator holds on to), so this prints, per generator, the worker's
resident memory when fresh (imports done), after each session's fit and sample, and once
passed on to the next session (its model dropped), as a markdown table. One process, one
worker per generator, sessions one after another on the training split.
"""

from __future__ import annotations

import argparse

import psutil

from gentune.generators import get_generator
from gentune.tuning.prepare import prepare
from gentune.workers.pool import IDLE_WORKERS
from gentune.workers.session import GeneratorSession


def resident_mib(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def measure(dataset: str, name: str, epochs: int, sessions: int) -> list[str]:
    prepared = prepare(dataset)
    train = prepared.processor.transform(prepared.splits.train)
    schema = prepared.processor.transformed_schema
    generator = get_generator(name)
    session = GeneratorSession(generator, train, schema)
    session.worker.ensure_started()
    pid = session.worker.pid
    rows = [f"| {name} | fresh, imports done | {resident_mib(pid):.0f} |"]
    for number in range(1, sessions + 1):
        session.fit({**generator.defaults(), "epochs": epochs}, seed=number)
        session.sample(len(train), seed=number)
        rows.append(f"| {name} | session {number}: after its fit and sample | "
                    f"{resident_mib(pid):.0f} |")
        session.close()
        session = GeneratorSession(generator, train, schema)
        session.worker.ensure_started()  # the hand-over's reset runs here
        if session.worker.pid != pid:
            raise SystemExit(f"{name}: the worker was not passed on (another process started)")
        rows.append(f"| {name} | passed on to session {number + 1} | {resident_mib(pid):.0f} |")
    session.close()
    IDLE_WORKERS.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="actg320")
    parser.add_argument("--generators", default="ctgan,tvae")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--sessions", type=int, default=3)
    args = parser.parse_args()
    lines = ["| generator | worker | resident memory (MiB) |", "|---|---|---:|"]
    for name in args.generators.split(","):
        lines += measure(args.dataset, name, args.epochs, args.sessions)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
