"""What a synthcity plug-in is given: the declared column types, gap-free numbers, and the
real reason when a plug-in cannot be imported.

synthcity guesses each column's type from its values: ten distinct values or fewer is
discrete, more is continuous. Integer codes of a categorical column with more levels
(sites, countries) would be modelled as one number and sampled as codes that never existed.
Here such columns reach synthcity as text (its loader label-encodes text, and decodes only
known labels), are declared discrete to its encoders for the fit, and come back as the
training values.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any

import pandas as pd

from gentune.errors import GeneratorError
from gentune.generators.swap import swapped

__all__ = ["DeclaredTypes", "plugin_class", "refuse_missing_numbers"]

DISCRETE_KINDS = ("categorical", "boolean")
_CATEGORIES = ("generic", "privacy", "survival_analysis")  # where gentune's plug-ins live
# The generator each survival plug-in builds through synthcity's loader.
_SURVIVAL_INNER = {"survival_gan": "adsgan", "survival_ctgan": "ctgan", "survae": "tvae",
                   "survival_nflow": "nflow"}
# Where synthcity calls its type guess (synthcity.utils.dataframe.discrete_columns).
_GUESSES = (("synthcity.plugins.core.models.tabular_encoder", "find_cat_cols"),
            ("synthcity.plugins.core.models.tabular_ddpm", "discrete_columns"))


def _discrete_columns_including(declared: frozenset[str]) -> Callable[..., list[Any]]:
    # synthcity's own guess, with the declared columns always discrete.
    def discrete_columns(dataframe: pd.DataFrame, max_classes: int = 10,
                         return_counts: bool = False) -> list[Any]:
        return [(column, count) if return_counts else column
                for column, values in dataframe.items()
                for count in [values.nunique()]
                if count <= max_classes or column in declared]
    return discrete_columns


class DeclaredTypes:
    """The schema's categorical and boolean columns of one training table, except ``keep``
    (a survival loader needs its endpoint columns as they are)."""

    def __init__(self, train: pd.DataFrame, schema: Mapping[str, str],
                 keep: Iterable[str] = ()) -> None:
        kept = set(keep)
        self.columns = [column for column in train.columns
                        if schema.get(column) in DISCRETE_KINDS and column not in kept]
        # str() of every training value, NaN included, back to the value itself.
        self._values = {column: {str(value): value for value in train[column].unique()}
                        for column in self.columns}

    def as_text(self, train: pd.DataFrame) -> pd.DataFrame:
        frame = train.copy()
        for column in self.columns:
            frame[column] = frame[column].astype(str)
        return frame

    def restore(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Text back to the training values (the caller restores the dtypes)."""
        for column in self.columns:
            if column in frame.columns:
                frame[column] = frame[column].astype(str).map(self._values[column])
        return frame

    @contextmanager
    def declared_discrete(self) -> Iterator[None]:
        """While active, synthcity's encoders treat these columns as discrete."""
        guess = _discrete_columns_including(frozenset(self.columns))
        with ExitStack() as stack:
            for module, name in _GUESSES:
                stack.enter_context(swapped([importlib.import_module(module)], name, guess))
            yield


def refuse_missing_numbers(data: pd.DataFrame, schema: Mapping[str, str], generator: str
                           ) -> None:
    """synthcity fits numbers with scikit-learn's Gaussian mixtures, which reject NaN: every
    trial would fail. Say so once, before any trial."""
    gaps = {column: int(data[column].isna().sum()) for column, kind in schema.items()
            if kind in ("numerical", "datetime") and column in data.columns}
    named = [f"'{column}' ({count} row{'s' if count > 1 else ''})"
             for column, count in gaps.items() if count]
    if named:
        raise GeneratorError(
            f"generator '{generator}' (synthcity) cannot fit missing values in numerical or "
            f"date columns, and the data has them in {', '.join(named)}; fill or drop those "
            f"rows, or use an SDV generator, which models missing values")


def plugin_class(plugin: str) -> type:
    """synthcity's class for ``plugin``, imported from its own module, so that an import
    failure raises with its reason (synthcity's loader logs it and says only that the
    plug-in does not exist). A survival plug-in's inner generator is imported first."""
    import synthcity.logger

    # Its loader's lines about plug-ins gentune never runs (decaf, fflows) are noise: every
    # plug-in gentune runs is imported here, where a failure raises.
    synthcity.logger.remove()
    if plugin in _SURVIVAL_INNER:
        plugin_class(_SURVIVAL_INNER[plugin])
    return _import_plugin(plugin)


def _import_plugin(plugin: str) -> type:
    from importlib.util import find_spec

    for category in _CATEGORIES:
        module = f"synthcity.plugins.{category}.plugin_{plugin}"
        if find_spec(module) is None:
            continue
        try:
            return importlib.import_module(module).plugin
        except Exception as exc:
            raise ImportError(f"synthcity's plug-in '{plugin}' cannot be imported: "
                              f"{type(exc).__name__}: {exc}") from exc
    raise ImportError(f"synthcity has no plug-in '{plugin}' in {', '.join(_CATEGORIES)}")
