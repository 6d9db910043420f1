"""Configuration of the scheduled batch job (``ccdata run CONFIG``).

A configuration is a TOML file read with the standard-library :mod:`tomllib`
into frozen dataclasses. Reading is strict: an unknown key or a value of the
wrong type raises :class:`~ccdata.errors.ConfigError` naming the key path
(``indicators.aaa_mortality.target``) and the file. Relative paths are resolved
against the folder that holds the configuration file, so a configuration and
its data can be moved together.

See ``docs/batch.md`` for the full reference with an example.
"""

from __future__ import annotations

import dataclasses
import glob
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ccdata.errors import ConfigError

__all__ = [
    "CompletenessConfig",
    "Config",
    "DisclosureConfig",
    "FunnelConfig",
    "IndicatorConfig",
    "RiskModelConfig",
    "RunConfig",
    "SPCConfig",
    "SitesConfig",
    "SourceConfig",
    "check_config",
    "load_config",
    "parse_config",
]

Scalar = str | int | float | bool


@dataclass(frozen=True)
class RunConfig:
    """The ``[run]`` table: title, output folder and what to draw."""

    title: str = "ccdata batch run"
    output: str | None = None
    figures: bool = True
    site_packs: bool = True
    dpi: int = 100
    workers: int = 0


@dataclass(frozen=True)
class SitesConfig:
    """The ``[sites]`` table: the registered site list."""

    path: str | None = None
    id_column: str = "site_id"
    name_column: str | None = "site_name"
    community_column: str = "community"


@dataclass(frozen=True)
class SourceConfig:
    """One ``[sources.NAME]`` table: a submission file or glob and its schema."""

    path: str | list[str]
    schema: str | None = None
    format: Literal["auto", "csv", "excel", "parquet"] = "auto"
    community: str | None = None
    rename: dict[str, str] = field(default_factory=dict)
    filter: dict[str, Scalar | list[Scalar]] = field(default_factory=dict)
    derive: dict[str, str] = field(default_factory=dict)
    sheet: str | None = None


@dataclass(frozen=True)
class RiskModelConfig:
    """``[indicators.NAME.risk_model]``: a logistic model fitted on the data."""

    covariates: list[str] | None = None
    formula: str | None = None
    outcome: str | None = None
    missing: Literal["complete_case", "indicator"] = "indicator"


@dataclass(frozen=True)
class IndicatorConfig:
    """One ``[indicators.NAME]`` table."""

    source: str
    kind: Literal["proportion", "ratio", "mean"] = "proportion"
    title: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    expected: str | None = None
    value: str | None = None
    unit: str = "site_id"
    period: str | None = None
    period_freq: Literal["day", "week", "month", "quarter", "year"] = "month"
    funnel: bool = True
    funnel_window: Literal["all", "latest"] = "all"
    target: float | None = None
    direction: Literal["increase", "decrease"] | None = None
    spc: str | None = None
    spc_by: Literal["unit", "total"] = "unit"
    spc_phases: list[str] = field(default_factory=list)
    overdispersion: Literal["none", "multiplicative", "additive"] | None = None
    cusum: bool = False
    site_packs: bool = True
    filter: dict[str, Scalar | list[Scalar]] = field(default_factory=dict)
    risk_model: RiskModelConfig | None = None


@dataclass(frozen=True)
class FunnelConfig:
    """The ``[funnel]`` table: options passed to :func:`ccdata.funnel`."""

    levels: list[float] = field(default_factory=lambda: [0.95, 0.998])
    method: str | None = None
    overdispersion: str | None = None
    min_coverage: float = 0.75  # share of a window's periods a site must send


@dataclass(frozen=True)
class SPCConfig:
    """The ``[spc]`` table: options passed to :func:`ccdata.spc`."""

    chart: str = "run"
    freeze: int | None = None
    max_sites_per_figure: int = 30


@dataclass(frozen=True)
class CompletenessConfig:
    """One ``[completeness.SOURCE]`` table: data-quality checks of a source."""

    fields: list[str] | None = None
    event_date: str | None = None
    entered_date: str | None = None
    timeliness_days: int | None = None
    expected_source: str | None = None
    expected_column: str = "expected"
    expected_period: str = "month"
    expected_label: str | None = None
    ascertainment_threshold: float = 0.8
    event_label: str | None = None


@dataclass(frozen=True)
class DisclosureConfig:
    """The ``[disclosure]`` table: small-number suppression in site packs."""

    min_count: int = 5
    suppress_zero: bool = False


@dataclass(frozen=True)
class Config:
    """A whole batch-job configuration, with paths resolved.

    Attributes
    ----------
    path : Path or None
        The configuration file (``None`` for a configuration built in code).
    base_dir : Path
        The folder against which relative paths were resolved.
    """

    sources: dict[str, SourceConfig]
    indicators: dict[str, IndicatorConfig] = field(default_factory=dict)
    run: RunConfig = field(default_factory=RunConfig)
    sites: SitesConfig = field(default_factory=SitesConfig)
    funnel: FunnelConfig = field(default_factory=FunnelConfig)
    spc: SPCConfig = field(default_factory=SPCConfig)
    completeness: dict[str, CompletenessConfig] = field(default_factory=dict)
    disclosure: DisclosureConfig = field(default_factory=DisclosureConfig)
    path: Path | None = None
    base_dir: Path = field(default_factory=Path.cwd)

    def resolve(self, path: str) -> Path:
        """Resolve ``path`` against the configuration file's folder."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.base_dir / p)

    def source_files(self, name: str) -> list[Path]:
        """The files of source ``name``: globs expanded and sorted."""
        src = self.sources[name]
        patterns = [src.path] if isinstance(src.path, str) else list(src.path)
        files: list[Path] = []
        for pattern in patterns:
            full = self.resolve(pattern)
            if glob.has_magic(str(full)):
                files.extend(Path(p) for p in sorted(glob.glob(str(full))))
            else:
                files.append(full)
        return files

    def output_dir(self) -> Path | None:
        """The output folder given in ``[run] output``, resolved, or None."""
        return None if self.run.output is None else self.resolve(self.run.output)


# --------------------------------------------------------------------------- #
# Strict conversion of TOML tables into the dataclasses above
# --------------------------------------------------------------------------- #

_SECTIONS_AS_DICTS = {"sources": SourceConfig, "indicators": IndicatorConfig,
                      "completeness": CompletenessConfig}


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if tp is type(None):
        return "nothing"
    if tp is str:
        return "a string"
    if tp is bool:
        return "true or false"
    if tp is int:
        return "an integer"
    if tp is float:
        return "a number"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (list,):
        return f"a list of ({_describe(typing.get_args(tp)[0])})"
    if origin in (dict,):
        return f"a table of ({_describe(typing.get_args(tp)[1])})"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(tp)
                           if a is not type(None))
    if dataclasses.is_dataclass(tp):
        return "a table"
    return str(tp)


class _Mismatch(Exception):
    pass


def _convert(value: Any, tp: Any, key: str, file: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        for arg in options:
            try:
                return _convert(value, arg, key, file)
            except _Mismatch:
                continue
            except ConfigError:
                if len(options) == 1:
                    raise
        raise _Mismatch()
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _Mismatch()
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _Mismatch()
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise _Mismatch()
    if tp is str:
        if isinstance(value, str):
            return value
        raise _Mismatch()
    if origin is Literal:
        if isinstance(value, str) and value in typing.get_args(tp):
            return value
        raise _Mismatch()
    if origin is list:
        if not isinstance(value, list):
            raise _Mismatch()
        (item,) = typing.get_args(tp)
        out = []
        for i, v in enumerate(value):
            try:
                out.append(_convert(v, item, f"{key}[{i}]", file))
            except _Mismatch:
                raise ConfigError(
                    f"{file}: key '{key}[{i}]' must be {_describe(item)}; "
                    f"got {v!r} ({type(v).__name__})."
                ) from None
        return out
    if origin is dict:
        if not isinstance(value, dict):
            raise _Mismatch()
        _, item = typing.get_args(tp)
        out_d = {}
        for k, v in value.items():
            try:
                out_d[k] = _convert(v, item, f"{key}.{k}", file)
            except _Mismatch:
                raise ConfigError(
                    f"{file}: key '{key}.{k}' must be {_describe(item)}; "
                    f"got {v!r} ({type(v).__name__})."
                ) from None
        return out_d
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise _Mismatch()
        return _build(tp, value, key, file)
    raise TypeError(f"unsupported config type {tp!r}")  # pragma: no cover


def _build(cls: type, table: Mapping[str, Any], prefix: str, file: str) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if cls is Config:
        fields.pop("path", None)
        fields.pop("base_dir", None)
    where = f"[{prefix}]" if prefix else "the top level"
    unknown = sorted(set(table) - set(fields))
    if unknown:
        k = unknown[0]
        full = f"{prefix}.{k}" if prefix else k
        raise ConfigError(
            f"{file}: unknown key '{full}' in {where}. "
            f"Allowed keys: {', '.join(sorted(fields))}."
        )
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        full = f"{prefix}.{name}" if prefix else name
        required = (f.default is dataclasses.MISSING
                    and f.default_factory is dataclasses.MISSING)
        if name not in table:
            if required:
                raise ConfigError(f"{file}: missing required key '{full}' in {where}.")
            continue
        value = table[name]
        tp = hints[name]
        if cls is Config and name in _SECTIONS_AS_DICTS:
            sub = _SECTIONS_AS_DICTS[name]
            if not isinstance(value, dict):
                raise ConfigError(
                    f"{file}: key '{full}' must be a table of named tables "
                    f"([{name}.NAME]); got {type(value).__name__}."
                )
            built = {}
            for k, v in value.items():
                if not isinstance(v, dict):
                    raise ConfigError(
                        f"{file}: key '{full}.{k}' must be a table; "
                        f"got {v!r} ({type(v).__name__})."
                    )
                built[k] = _build(sub, v, f"{full}.{k}", file)
            kwargs[name] = built
            continue
        try:
            kwargs[name] = _convert(value, tp, full, file)
        except _Mismatch:
            raise ConfigError(
                f"{file}: key '{full}' must be {_describe(tp)}; "
                f"got {value!r} ({type(value).__name__})."
            ) from None
    return cls(**kwargs)


def _cross_check(cfg: Config, file: str) -> None:
    if not cfg.sources:
        raise ConfigError(f"{file}: at least one [sources.NAME] table is needed.")
    for name, ind in cfg.indicators.items():
        key = f"indicators.{name}"
        if ind.source not in cfg.sources:
            raise ConfigError(
                f"{file}: key '{key}.source' names an unknown source "
                f"{ind.source!r}. Defined sources: {', '.join(cfg.sources)}."
            )
        if ind.kind == "proportion" and ind.numerator is None:
            raise ConfigError(
                f"{file}: key '{key}.numerator' is required for kind 'proportion'."
            )
        if ind.kind == "ratio":
            if ind.numerator is None and (
                ind.risk_model is None or ind.risk_model.outcome is None
            ):
                raise ConfigError(
                    f"{file}: key '{key}.numerator' (the observed outcome) is "
                    "required for kind 'ratio'."
                )
            if ind.expected is None and ind.risk_model is None:
                raise ConfigError(
                    f"{file}: kind 'ratio' needs '{key}.expected' (a column of "
                    f"expected counts) or a '{key}.risk_model' table."
                )
        if ind.kind == "mean" and ind.value is None:
            raise ConfigError(f"{file}: key '{key}.value' is required for kind 'mean'.")
        if ind.target is not None and ind.kind == "proportion" and not (
            0.0 <= ind.target <= 1.0
        ):
            raise ConfigError(
                f"{file}: key '{key}.target' must be a proportion in [0, 1] for "
                f"kind 'proportion'; got {ind.target!r}."
            )
        if ind.risk_model is not None and (
            (ind.risk_model.covariates is None) == (ind.risk_model.formula is None)
        ):
            raise ConfigError(
                f"{file}: table [{key}.risk_model] needs exactly one of 'covariates' "
                "(a list of columns or terms) and 'formula'."
            )
        if ind.cusum and ind.risk_model is None:
            raise ConfigError(
                f"{file}: key '{key}.cusum' needs a '{key}.risk_model' table "
                "(a risk-adjusted CUSUM uses each patient's predicted risk)."
            )
        if ind.cusum and ind.period is None:
            raise ConfigError(
                f"{file}: key '{key}.cusum' needs '{key}.period' (the date that "
                "orders the patients)."
            )
        if ind.spc is not None and ind.period is None:
            raise ConfigError(
                f"{file}: key '{key}.spc' needs '{key}.period' (the time column)."
            )
    for name in cfg.completeness:
        key = f"completeness.{name}"
        if name not in cfg.sources:
            raise ConfigError(
                f"{file}: table [{key}] names an unknown source {name!r}. "
                f"Defined sources: {', '.join(cfg.sources)}."
            )
        exp = cfg.completeness[name].expected_source
        if exp is not None and exp not in cfg.sources:
            raise ConfigError(
                f"{file}: key '{key}.expected_source' names an unknown source {exp!r}."
            )
        threshold = cfg.completeness[name].ascertainment_threshold
        if not 0.0 < threshold <= 1.0:
            raise ConfigError(
                f"{file}: key '{key}.ascertainment_threshold' must be a proportion "
                f"in (0, 1] (e.g. 0.8 for 80%); got {threshold!r}."
            )
    if any(not (0 < lv < 1) for lv in cfg.funnel.levels) or not cfg.funnel.levels:
        raise ConfigError(
            f"{file}: key 'funnel.levels' must list probabilities in (0, 1); "
            f"got {cfg.funnel.levels!r}."
        )
    if cfg.disclosure.min_count < 1:
        raise ConfigError(
            f"{file}: key 'disclosure.min_count' must be an integer >= 1 "
            f"(1 turns suppression off); got {cfg.disclosure.min_count!r}."
        )
    if cfg.run.workers < 0:
        raise ConfigError(f"{file}: key 'run.workers' must be >= 0 (0: one per CPU); "
                          f"got {cfg.run.workers}.")
    if cfg.run.dpi < 20 or cfg.run.dpi > 600:
        raise ConfigError(f"{file}: key 'run.dpi' must be in 20..600; got {cfg.run.dpi}.")


def parse_config(
    table: Mapping[str, Any], *, base_dir: str | Path | None = None,
    path: str | Path | None = None,
) -> Config:
    """Build a :class:`Config` from an already parsed TOML table.

    Parameters
    ----------
    table : mapping
        The parsed TOML document.
    base_dir : path-like, optional
        Folder against which relative paths resolve (default: the folder of
        ``path``, else the current directory).
    path : path-like, optional
        The file the table came from; named in error messages.

    Returns
    -------
    Config

    Raises
    ------
    ConfigError
        For an unknown key, a value of the wrong type, a missing required key
        or an inconsistent reference (e.g. an indicator naming an unknown
        source). The message names the key path and the file.

    Examples
    --------
    >>> cfg = parse_config({"sources": {"a": {"path": "a.csv"}}}, base_dir="/data")
    >>> cfg.source_files("a")[0].as_posix()
    '/data/a.csv'
    >>> parse_config({"sources": {"a": {"path": "a.csv", "shema": "x"}}})
    Traceback (most recent call last):
    ...
    ccdata.errors.ConfigError: <config>: unknown key 'sources.a.shema' ...
    """
    file = "<config>" if path is None else str(path)
    cfg = _build(Config, table, "", file)
    if base_dir is None:
        base_dir = Path(path).resolve().parent if path is not None else Path.cwd()
    cfg = dataclasses.replace(
        cfg, path=None if path is None else Path(path).resolve(),
        base_dir=Path(base_dir).resolve(),
    )
    _cross_check(cfg, file)
    return cfg


def load_config(path: str | Path) -> Config:
    """Read and check a TOML batch-job configuration file.

    Parameters
    ----------
    path : path-like
        The ``.toml`` file. Relative paths inside it resolve against its folder.

    Returns
    -------
    Config

    Raises
    ------
    ConfigError
        If the file is missing, is not valid TOML, or fails the strict checks
        of :func:`parse_config`.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the configuration file ({exc}).") from None
    try:
        table = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: the configuration file is not UTF-8 text.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}.") from None
    return parse_config(table, path=p)


def check_config(path: str | Path) -> list[str]:
    """Check a configuration file for ``ccdata config check FILE``.

    Beyond :func:`load_config`, this checks that every source file exists
    (globs must match at least one file) and that every schema name is known.

    Parameters
    ----------
    path : path-like
        The ``.toml`` file.

    Returns
    -------
    list of str
        Problems found (empty when the configuration is good).

    Raises
    ------
    ConfigError
        When the file cannot be read as a configuration at all.
    """
    cfg = load_config(path)
    problems: list[str] = []
    if cfg.sites.path is not None and not cfg.resolve(cfg.sites.path).is_file():
        problems.append(
            f"{cfg.path}: key 'sites.path': file not found: {cfg.resolve(cfg.sites.path)}"
        )
    for name, src in cfg.sources.items():
        files = cfg.source_files(name)
        missing = [f for f in files if not f.is_file()]
        if not files:
            problems.append(
                f"{cfg.path}: key 'sources.{name}.path': no file matches {src.path!r}"
            )
        for f in missing:
            problems.append(f"{cfg.path}: key 'sources.{name}.path': file not found: {f}")
        if src.schema is not None:
            try:
                from ccdata.schemas import get_schema

                get_schema(src.schema)
            except ImportError:  # pragma: no cover - schemas being written
                pass
            except Exception as exc:  # noqa: BLE001 - reported, not raised
                problems.append(f"{cfg.path}: key 'sources.{name}.schema': {exc}")
    return problems
