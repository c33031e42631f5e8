"""Pre-processing (before fit) and post-processing (after sample) of a rule set.

``ConstraintProcessor`` is generator-agnostic: ``transform`` turns real rows into the
columns a generator learns, ``reverse_transform`` turns generated rows back, and
``postprocess`` applies each rule's policy (repair, clip or reject-and-resample) until the
requested number of rows all satisfy every rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from gentune.constraints.decimals import real_grid, with_real_decimals
from gentune.constraints.planning import plan_transforms
from gentune.constraints.report import valid_rows, violation_shares
from gentune.constraints.rules import Derived, Rule
from gentune.constraints.transforms import Transform, restore_dtype
from gentune.errors import ConstraintError
from gentune.rowkeys import row_keys

__all__ = ["ConstraintProcessor", "PostprocessResult"]


class PostprocessResult:
    """Valid rows and what it took: repairs per rule, rejected rows, sampling rounds."""

    def __init__(self, frame: pd.DataFrame, repaired: dict[str, int], rejected: int,
                 rounds: int, drawn: int, excluded: int = 0) -> None:
        self.frame, self.repaired, self.rejected = frame, repaired, rejected
        self.rounds, self.drawn, self.excluded = rounds, drawn, excluded


class ConstraintProcessor:
    """Fit on the real training rows; then transform, reverse and post-process samples.

    ``enforce_by_construction=False`` skips the re-parameterisation (the ablation's "raw"
    and "post only" arms); post-processing works either way. ``protected`` columns are never
    re-parameterised (a survival generator needs its endpoint's time and event as they are).
    """

    def __init__(self, rules: Sequence[Rule], schema: Mapping[str, str],
                 enforce_by_construction: bool = True, max_rounds: int = 25,
                 max_oversample: float = 50.0, protected: frozenset[str] = frozenset()) -> None:
        self.rules = list(rules)
        self.protected = frozenset(protected)  # columns the generator must see unchanged
        self.schema = dict(schema)
        self.enforce_by_construction = enforce_by_construction
        self.max_rounds, self.max_oversample = max_rounds, max_oversample
        self.transforms: list[Transform] = []
        self.columns: list[str] = []
        self.dtypes: dict[str, object] = {}
        # The real grid (decimals, whole days) of each column: restored columns and repaired
        # values are put back on it, so that no row holds a value no real record could.
        self.grids: dict[str, int | str] = {}
        self.decimals: dict[str, int | str] = {}  # of the columns the transforms restore
        self._fitted = False

    def fit(self, train: pd.DataFrame) -> ConstraintProcessor:
        self.columns = list(train.columns)
        self.dtypes = train.dtypes.to_dict()
        for rule in self.rules:
            rule.fit(train)
        self.transforms = plan_transforms(self.rules, self.schema, self.protected) \
            if self.enforce_by_construction else []
        frame = train
        for transform in self.transforms:
            transform.fit(frame)
            frame = transform.forward(frame)
        restored = {column for transform in self.transforms for column in transform.replaces}
        self.grids = {column: grid for column in self.columns
                      if (grid := real_grid(train[column])) is not None}
        self.decimals = {column: grid for column, grid in self.grids.items()
                         if column in restored}
        self._fitted = True
        return self

    def _require_fitted(self) -> None:
        if not self._fitted:
            raise ConstraintError("the constraint processor is not fitted yet; call 'fit' with "
                                  "the real training rows first")

    @property
    def transformed_schema(self) -> dict[str, str]:
        """The column types of the table the generator learns."""
        self._require_fitted()
        schema = dict(self.schema)
        for transform in self.transforms:
            for column in transform.replaces:
                schema.pop(column, None)
            schema.update(transform.adds)
        return schema

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        self._require_fitted()
        for transform in self.transforms:
            frame = transform.forward(frame)
        return frame.reset_index(drop=True)

    def reverse_transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        self._require_fitted()
        for transform in reversed(self.transforms):
            frame = transform.reverse(frame)
        frame = with_real_decimals(frame, self.decimals, self.rules)
        return frame[self.columns].reset_index(drop=True)

    def violations(self, frame: pd.DataFrame) -> dict[str, float]:
        return violation_shares(self.rules, frame)

    def valid_rows(self, frame: pd.DataFrame) -> pd.Series:
        return valid_rows(self.rules, frame)

    def repair(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
        """Apply every fixing policy; derived columns are recomputed last, as their dates move."""
        fixing = [rule for rule in self.rules if rule.policy != "reject"]
        ordered = [r for r in fixing if not isinstance(r, Derived)] + \
                  [r for r in fixing if isinstance(r, Derived)]
        touched = {rule.description: pd.Series(False, index=frame.index) for rule in ordered}
        for _ in range(3):  # a fix can break an earlier rule; a few passes settle it
            changed = False
            for rule in ordered:
                broken = ~rule.is_valid(frame)
                if broken.any():
                    frame = rule.fix(frame, broken)
                    touched[rule.description] |= broken
                    changed = changed or bool((broken & rule.is_valid(frame)).any())
            if not changed:
                break
        # A fix toward a strict bound moves by the dtype's least step (a nanosecond, one
        # float): the fixed rows go back on the real grid, where their rules allow.
        fixed = pd.Series(False, index=frame.index)
        moved: set[str] = set()
        for rule in ordered:
            if touched[rule.description].any():
                fixed |= touched[rule.description]
                moved.update(rule.columns)
        grids = {column: grid for column, grid in self.grids.items() if column in moved}
        if grids:
            frame = frame.copy()
            frame.loc[fixed] = with_real_decimals(frame[fixed], grids, self.rules)
        # A row counts once per rule, and only if the rule holds for it in the end.
        repaired = {rule.description: int((touched[rule.description]
                                           & rule.is_valid(frame)).sum())
                    for rule in ordered if touched[rule.description].any()}
        return frame, repaired

    def postprocess(self, frame: pd.DataFrame, n: int,
                    sample_more: Callable[[int], pd.DataFrame] | None = None,
                    exclude: set[str] | None = None) -> PostprocessResult:
        """Repair what can be repaired, reject the rest and draw more until ``n`` rows hold.

        ``frame`` and whatever ``sample_more(k)`` returns are reverse-transformed rows.
        Rows whose ``row_keys`` are in ``exclude`` (real patients) are rejected too.
        """
        self._require_fitted()
        kept: list[pd.DataFrame] = []
        have, rejected, rounds, drawn, excluded = 0, 0, 0, len(frame), 0
        repaired_total: dict[str, int] = {}
        batch = frame
        while True:
            rounds += 1
            # Whole-number columns take whole numbers before any rule is checked, so that
            # the rows judged valid are the rows returned; a row whose whole-number column
            # holds none (NaN, inf, text, too large) cannot be returned with its dtype.
            batch = self._restore_dtypes(batch)
            unreturnable = self._unreturnable(batch)
            rejected += int(unreturnable.sum())
            unusable = batch[unreturnable]
            # Again: a whole-number column is a float while a dropped row held its NaN.
            batch, repaired = self.repair(self._restore_dtypes(batch[~unreturnable]))
            for rule, count in repaired.items():
                repaired_total[rule] = repaired_total.get(rule, 0) + count
            # A fix toward a wild bound (a < -1e308) can leave what an int column holds.
            batch = self._restore_dtypes(batch)
            valid = self.valid_rows(batch) & ~self._unreturnable(batch)
            if exclude:
                copies = row_keys(batch[self.columns]).isin(exclude).to_numpy()
                excluded += int((copies & valid.to_numpy()).sum())
                valid &= ~copies
            rejected += int((~valid).sum())
            kept.append(batch[valid])
            have += int(valid.sum())
            if have >= n:
                break
            if sample_more is None or rounds >= self.max_rounds or drawn >= self.max_oversample * n:
                raise ConstraintError(self._cap_message(
                    have, n, drawn, pd.concat([batch, unusable], ignore_index=True), excluded,
                    rejected - excluded))
            rate = max(have / drawn, 0.02) if drawn else 0.02  # a generator may return no rows
            wanted = min(math.ceil((n - have) / rate * 1.2) + 10,
                         int(self.max_oversample * n) - drawn)
            batch = sample_more(max(wanted, 1))
            drawn += len(batch)
        result = pd.concat(kept, ignore_index=True).iloc[:n]
        return PostprocessResult(self._restore_dtypes(result), repaired_total, rejected, rounds,
                                 drawn, excluded)

    def _restore_dtypes(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The training dtypes; a training-int column takes whole numbers (rounded, not
        truncated) and stays a float with NaN where a value fits no integer."""
        frame = frame.reset_index(drop=True)
        for column, dtype in self.dtypes.items():
            values = frame[column]
            if pd.api.types.is_integer_dtype(dtype) and \
                    not pd.api.types.is_integer_dtype(values):
                frame[column] = restore_dtype(values, dtype)
            elif values.dtype != dtype and values.notna().all():
                try:
                    frame[column] = values.astype(dtype)
                except (TypeError, ValueError):
                    pass  # keep the generator's dtype; the output check reports real problems
        return frame

    def _unreturnable(self, frame: pd.DataFrame) -> pd.Series:
        """Rows holding no value in a training-int column (after ``_restore_dtypes``), or an
        infinite one in a float column: values no patient's record holds."""
        whole = [column for column, dtype in self.dtypes.items()
                 if pd.api.types.is_integer_dtype(dtype)]
        floats = [column for column, dtype in self.dtypes.items()
                  if pd.api.types.is_float_dtype(dtype)]
        numbers = frame[floats].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        infinite = pd.Series(np.isinf(numbers).any(axis=1), index=frame.index)
        return frame[whole].isna().any(axis=1) | infinite

    def _cap_message(self, have: int, n: int, drawn: int, batch: pd.DataFrame,
                     excluded: int = 0, broke_rules: int = 0) -> str:
        if excluded and excluded >= broke_rules:  # real-patient copies, not a rule, fell short
            return (f"only {have} of {n} rows are usable after drawing {drawn} rows: {excluded} "
                    f"drawn rows equalled a real patient's row (and {broke_rules} broke a "
                    f"rule); the generator reproduces real patients with these parameters: "
                    f"release another configuration, or tune with more weight on privacy")
        shares = {rule: share for rule, share in self.violations(batch).items() if rule != "any"}
        worst = max(shares, key=shares.get) if shares else "?"
        unreturnable = self._unreturnable(batch)
        if len(batch) and unreturnable.mean() > shares.get(worst, 0):  # no rule names it
            columns = [column for column, dtype in self.dtypes.items()
                       if pd.api.types.is_integer_dtype(dtype) and batch[column].isna().any()]
            return (f"only {have} of {n} rows satisfy the rules after drawing {drawn} rows; "
                    f"{unreturnable.mean():.0%} of them hold no whole number (a missing, "
                    f"infinite or too large value) in the whole-number column(s) "
                    f"{', '.join(columns)}: tune the generator longer")
        rule = next((rule for rule in self.rules if rule.description == worst), None)
        fixes = rule.fixes if rule else ()
        if rule is None or rule.policy != "reject":
            advice = (f"its {rule.policy if rule else 'fixing'} policy could not make them hold "
                      f"(a missing value, or another rule that undoes the fix); check the rules "
                      f"together, or tune the generator longer")
        elif fixes:
            advice = f"give it a {' or '.join(fixes)} policy, or tune the generator longer"
        else:
            advice = ("this rule cannot be repaired or clipped: tune the generator longer, or "
                      "rewrite the rule")
        return (f"only {have} of {n} rows satisfy the rules after drawing {drawn} rows; the rule "
                f"'{worst}' breaks {shares.get(worst, 0):.0%} of them: {advice}")
