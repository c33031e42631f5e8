"""The constraint ablation: how many rows break the rules with and without processing.

For each generator (at its library defaults) and trial, four arms on the same number of
rows as the training split:

- ``raw``: fitted on the real columns, no pre- and no post-processing;
- ``pre``: fitted on the re-parameterised columns, output reversed, no post-processing;
- ``post``: the raw model's output after post-processing (repair / reject);
- ``pre+post``: both, what gentune releases (zero violations by construction of the gate).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from gentune.files import atomic_write_text
from gentune.generators import get_generator, require_available
from gentune.names import unique_names
from gentune.seeds import check_seed
from gentune.tuning.out_folder import check_folder_path
from gentune.tuning.prepare import prepare
from gentune.workers.session import GeneratorSession

__all__ = ["run_ablation", "ablation_markdown"]

ARMS = ("raw", "pre", "post", "pre+post")


def _arm_rows(session: GeneratorSession, processor, params: dict, seed: int, n: int):
    session.fit(params, seed)
    generated = processor.reverse_transform(session.sample(n, seed))
    draws = iter(range(1, 10_000))
    post = processor.postprocess(
        generated, n, lambda k: processor.reverse_transform(session.sample(k, seed + next(draws))))
    return generated, post


def run_ablation(datasets: Sequence[str], generators: Sequence[str], out: Path,
                 seed: int = 0) -> pd.DataFrame:
    # Every name and dataset is checked before the first fit: a typo in the last one would
    # otherwise surface only after the others were fitted, and write nothing.
    check_seed(seed)
    datasets = unique_names(datasets, "--datasets", "actg320,gbsg2")
    generators = unique_names(generators, "--generators", "gaussian_copula,ctgan")
    for generator in generators:
        require_available(generator)
    check_folder_path(Path(out))
    # A survival generator models the endpoint itself: its time and event columns reach it
    # unchanged, so it needs the dataset prepared for it.
    survival = {name: get_generator(name).survival for name in generators}
    studies = {(dataset, kind): prepare(dataset, survival_generator=kind)
               for dataset in datasets for kind in set(survival.values())}
    records = []
    for dataset in datasets:
        for name in generators:
            study = studies[dataset, survival[name]]
            n = len(study.train)
            generator = get_generator(name)
            params = generator.defaults()
            arms: dict[str, dict[str, float]] = {}
            with GeneratorSession(generator, study.processor.transform(study.train),
                                  study.processor.transformed_schema,
                                  endpoint=study.endpoint) as session:
                generated, post = _arm_rows(session, study.processor, params, seed, n)
                arms["pre"] = study.processor.violations(generated)
                arms["pre+post"] = study.processor.violations(post.frame)
            with GeneratorSession(generator, study.train, study.data.schema,
                                  endpoint=study.endpoint) as session:
                generated, post = _arm_rows(session, study.raw_processor, params, seed, n)
                arms["raw"] = study.processor.violations(generated)
                arms["post"] = study.processor.violations(post.frame)
            for arm in ARMS:
                for rule, share in arms[arm].items():
                    records.append({"dataset": dataset, "generator": name, "arm": arm,
                                    "rule": rule, "share": share, "rows": n})
    table = pd.DataFrame.from_records(records)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "ablation.csv", table.to_csv(index=False))
    atomic_write_text(out / "ablation.md", ablation_markdown(table))
    return table


def ablation_markdown(table: pd.DataFrame) -> str:
    """Share of rows breaking at least one rule, per dataset x generator x arm."""
    overall = table[table["rule"] == "any"].pivot_table(
        index=["dataset", "generator"], columns="arm", values="share").reindex(columns=list(ARMS))
    lines = ["| dataset | generator | " + " | ".join(ARMS) + " |",
             "|---|---|" + "---:|" * len(ARMS)]
    for (dataset, generator), row in overall.iterrows():
        cells = " | ".join(f"{row[arm]:.1%}" for arm in ARMS)
        lines.append(f"| {dataset} | {generator} | {cells} |")
    broken = table[(table["arm"] == "raw") & (table["rule"] != "any") & (table["share"] > 0)]
    worst = broken.sort_values("share", ascending=False).groupby(["dataset", "generator"]).head(1)
    worst = worst.set_index(["dataset", "generator"])
    lines.append("")
    lines.append("Rule broken most often by the raw generator:")
    lines.append("")
    for dataset, generator in overall.index:
        if (dataset, generator) in worst.index:
            row = worst.loc[(dataset, generator)]
            lines.append(f"- {dataset} / {generator}: '{row['rule']}' in {row['share']:.1%} of "
                         f"rows")
        else:
            lines.append(f"- {dataset} / {generator}: none (no rule broken)")
    return "\n".join(lines) + "\n"
