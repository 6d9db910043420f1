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
import functools
import glob
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from ccdata.engine import TABLE_NAME
from ccdata.errors import ConfigError
from ccdata.report.expr import ExpressionError, parse_expression

__all__ = [
    "CompletenessConfig",
    "ConnectionConfig",
    "Config",
    "DisclosureConfig",
    "FunnelConfig",
    "IndicatorConfig",
    "RiskModelConfig",
    "RunConfig",
    "SPCConfig",
    "SitesConfig",
    "SourceConfig",
    "SurveyConfig",
    "check_config",
    "load_config",
    "parse_config",
]

Scalar = str | int | float | bool
#: The SPC charts of :func:`ccdata.spc`.
Chart = Literal["run", "p", "pp", "u", "up", "c", "i", "mr"]
#: Names of sources, indicators and completeness blocks (they name files).
NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class RunConfig:
    """The ``[run]`` table: title, output folder and what to draw."""

    title: str = "ccdata batch run"
    output: str | None = None
    figures: bool = True
    site_packs: bool = True
    dpi: int = 100
    workers: int = 0
    pack_png: bool = True


@dataclass(frozen=True)
class SitesConfig:
    """The ``[sites]`` table: the registered site list."""

    path: str | None = None
    id_column: str = "site_id"
    name_column: str | None = "site_name"
    community_column: str = "community"


@dataclass(frozen=True)
class ConnectionConfig:
    """``[sources.NAME.connection]``: how an engine source reaches its engine.

    DuckDB: ``database`` (a database file holding ``table``, opened
    read-only), ``memory_limit`` (e.g. ``"3GB"``; DuckDB spills to
    ``temp_directory`` beyond it) and ``threads``. Spark: ``session =
    "active"`` (the session of ``spark-submit`` or a Databricks-style
    notebook) or ``"new"`` with ``master`` (default ``"local[2]"``) and
    ``app_name``.
    """

    database: str | None = None
    memory_limit: str | None = None
    threads: int | None = None
    temp_directory: str | None = None
    session: Literal["new", "active"] = "new"
    master: str | None = None
    app_name: str | None = None


@dataclass(frozen=True)
class SourceConfig:
    """One ``[sources.NAME]`` table: a submission file or glob and its schema.

    With ``engine = "duckdb"`` or ``"spark"`` the source is read and
    validated in that engine (:mod:`ccdata.engine`): ``path`` is then a file
    or glob (CSV on DuckDB, or Parquet) or a folder holding a Parquet dataset
    (hive partitions allowed), or ``table`` names a table of the engine.
    """

    path: str | list[str] | None = None
    schema: str | None = None
    format: Literal["auto", "csv", "excel", "parquet"] = "auto"
    community: str | None = None
    rename: dict[str, str] = field(default_factory=dict)
    filter: dict[str, Scalar | list[Scalar]] = field(default_factory=dict)
    derive: dict[str, str] = field(default_factory=dict)
    sheet: str | None = None
    owner: Literal["auto", "file", "folder", "none"] = "auto"
    unique: list[str] | None = None
    engine: Literal["pandas", "duckdb", "spark"] = "pandas"
    table: str | None = None
    connection: ConnectionConfig | None = None


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
    spc: Chart | None = None
    spc_by: Literal["unit", "total"] = "unit"
    spc_phases: list[str] = field(default_factory=list)
    overdispersion: Literal["none", "multiplicative", "additive"] | None = None
    cusum: bool = False
    site_packs: bool = True
    filter: dict[str, Scalar | list[Scalar]] = field(default_factory=dict)
    risk_model: RiskModelConfig | None = None


@dataclass(frozen=True)
class SurveyConfig:
    """One ``[surveys.NAME]`` table: a patient-experience survey (ccdata.survey)."""

    source: str
    title: str | None = None
    case_mix: list[str] = field(
        default_factory=lambda: ["age_band", "sex", "route_to_diagnosis"]
    )
    positive: list[int] = field(default_factory=lambda: [4, 5])
    min_respondents: int = 21
    score: Literal["mean", "positive"] = "mean"
    level: float | None = None
    questions: list[str] | None = None
    site_packs: bool = True


@dataclass(frozen=True)
class FunnelConfig:
    """The ``[funnel]`` table: options passed to :func:`ccdata.funnel`."""

    levels: list[float] = field(default_factory=lambda: [0.95, 0.998])
    method: str | None = None
    overdispersion: Literal["none", "multiplicative", "additive"] | None = None
    min_coverage: float = 0.75  # share of a window's periods a site must send


@dataclass(frozen=True)
class SPCConfig:
    """The ``[spc]`` table: options passed to :func:`ccdata.spc`."""

    chart: Chart = "run"
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
    """The ``[disclosure]`` table: small-number suppression policy per audience.

    ``own_pack`` is what a site sees of its own data in its own pack
    (``"full"``, or ``"suppressed"`` when packs travel further than the site);
    ``shared`` is the audience of the run's shared outputs (``indicators/``,
    ``figures/``, ``index.html``): ``"internal"`` (the core team) keeps the real
    numbers, ``"publication"`` suppresses every count below ``min_count`` with
    complementary suppression (see ``docs/batch.md``).
    """

    min_count: int = 5
    suppress_zero: bool = False
    own_pack: Literal["full", "suppressed"] = "full"
    shared: Literal["internal", "publication"] = "internal"


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
    surveys: dict[str, SurveyConfig] = field(default_factory=dict)
    path: Path | None = None
    base_dir: Path = field(default_factory=Path.cwd)

    def resolve(self, path: str) -> Path:
        """Resolve ``path`` against the configuration file's folder."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.base_dir / p)

    def source_files(self, name: str) -> list[Path]:
        """Return the files of source ``name``: globs expanded and sorted."""
        src = self.sources[name]
        patterns = _patterns(src)
        files: list[Path] = []
        for pattern in patterns:
            full = self.resolve(pattern)
            if glob.has_magic(str(full)):
                files.extend(Path(p) for p in sorted(glob.glob(str(full))))
            else:
                files.append(full)
        return files

    def unmatched_patterns(self, name: str) -> list[str]:
        """Return the globs of source ``name`` that match no file (each must match)."""
        src = self.sources[name]
        patterns = _patterns(src)
        return [
            p
            for p in patterns
            if glob.has_magic(str(self.resolve(p)))
            and not glob.glob(str(self.resolve(p)))
        ]

    def output_dir(self) -> Path | None:
        """Return the output folder given in ``[run] output``, resolved, or None."""
        return None if self.run.output is None else self.resolve(self.run.output)


def _patterns(src: SourceConfig) -> list[str]:
    if src.path is None:
        return []
    return [src.path] if isinstance(src.path, str) else list(src.path)


# --------------------------------------------------------------------------- #
# Strict conversion of TOML tables into the dataclasses above
# --------------------------------------------------------------------------- #

_SECTIONS_AS_DICTS = {
    "sources": SourceConfig,
    "indicators": IndicatorConfig,
    "completeness": CompletenessConfig,
    "surveys": SurveyConfig,
}


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
        return " or ".join(
            _describe(a) for a in typing.get_args(tp) if a is not type(None)
        )
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
        return _build(cast(type, tp), value, key, file)
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
        required = (
            f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        )
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


# --------------------------------------------------------------------------- #
# One-pass validation with pydantic: every mistake, with its key path
# --------------------------------------------------------------------------- #

_PYD_CONFIG = ConfigDict(extra="forbid", strict=True)


def _model_type(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _model_for(cast(type, tp))
    args = typing.get_args(tp)
    if origin is list:
        return list[_model_type(args[0])]  # type: ignore[misc]
    if origin is dict:
        return dict[args[0], _model_type(args[1])]  # type: ignore[misc,valid-type]
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(_model_type(a) for a in args)]  # noqa: UP007
    return tp


@functools.cache
def _model_for(cls: type) -> type[BaseModel]:
    """Build a strict pydantic model mirroring the dataclass ``cls``.

    Fields are aliased, so that names such as ``schema`` or ``filter`` shadow
    nothing.
    """
    hints = typing.get_type_hints(cls)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            default = Field(default=f.default, alias=f.name)
        elif f.default_factory is not dataclasses.MISSING:
            default = Field(default_factory=f.default_factory, alias=f.name)
        else:
            default = Field(alias=f.name)
        fields[f"f_{f.name}"] = (_model_type(hints[f.name]), default)
    return create_model(f"{cls.__name__}Model", __config__=_PYD_CONFIG, **fields)


def _options(tp: Any) -> str:
    return ", ".join(str(a) for a in typing.get_args(tp))


def _walk(loc: tuple[Any, ...], cls: type) -> tuple[str, Any, list[str] | None]:
    """Locate a pydantic error: its key path, type and allowed keys.

    The key path of a pydantic error location, the type found there, and the
    allowed keys of the table it is in (for unknown keys).
    """
    parts: list[str] = []
    tp: Any = cls
    allowed: list[str] | None = None
    i = 0
    while i < len(loc):
        item = loc[i]
        origin = typing.get_origin(tp)
        if origin in (typing.Union, types.UnionType):
            options = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(options) == 1:
                tp = options[0]
                continue
            break  # a union member tag: describe the union as a whole
        if dataclasses.is_dataclass(tp):
            names = [f.name for f in dataclasses.fields(tp)]
            parts.append(str(item))
            if item not in names:
                allowed = sorted(names)
                tp = None
                break
            tp = typing.get_type_hints(tp)[item]
        elif origin is dict:
            parts.append(str(item))
            tp = typing.get_args(tp)[1]
        elif origin is list and isinstance(item, int):
            parts[-1] = f"{parts[-1]}[{item}]" if parts else f"[{item}]"
            tp = typing.get_args(tp)[0]
        else:
            break
        i += 1
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(options) == 1:
            tp = options[0]
    return ".".join(parts), tp, allowed


def _got(value: Any) -> str:
    return f"got {value!r} ({type(value).__name__})"


def _pydantic_problems(exc: ValidationError, cls: type, prefix: str) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for err in exc.errors():
        path, tp, allowed = _walk(tuple(err["loc"]), cls)
        key = ".".join(p for p in (prefix, path) if p) or "(top level)"
        if key in seen:
            continue
        seen.add(key)
        kind = err["type"]
        if kind == "extra_forbidden":
            where = key.rsplit(".", 1)[0] if "." in key else "the top level"
            out.append(
                f"{key}: unknown key in [{where}]. Allowed keys: "
                f"{', '.join(allowed or [])}."
            )
        elif kind == "missing":
            out.append(f"{key}: missing required key.")
        elif typing.get_origin(tp) is Literal:
            out.append(f"{key}: {err['input']!r} is not one of {_options(tp)}.")
        else:
            out.append(f"{key}: must be {_describe(tp)}; {_got(err['input'])}.")
    return out


def _validate_table(
    cls: type, value: Any, prefix: str, file: str
) -> tuple[Any | None, list[str]]:
    """(dataclass or None, problems) for one table of the configuration."""
    if not isinstance(value, Mapping):
        return None, [f"{prefix}: must be a table; {_got(value)}."]
    model = _model_for(cls)
    try:
        model.model_validate(value)
    except ValidationError as exc:
        problems = _pydantic_problems(exc, cls, prefix)
        # keep checking the rest of the table: without its bad keys (their
        # defaults instead), it may still be good enough for the cross-checks
        bad = {e["loc"][0] for e in exc.errors() if e["loc"]}
        rest = {k: v for k, v in value.items() if k not in bad}
        try:
            model.model_validate(rest)
        except ValidationError:
            return None, problems
        return _build(cls, rest, prefix, file), problems
    return _build(cls, value, prefix, file), []


def _validate_document(
    table: Mapping[str, Any], file: str
) -> tuple[dict[str, Any], list[str]]:
    """Validate every table of a configuration; keep what is good."""
    problems: list[str] = []
    kwargs: dict[str, Any] = {}
    sections = {
        f.name: f
        for f in dataclasses.fields(Config)
        if f.name not in ("path", "base_dir")
    }
    hints = typing.get_type_hints(Config)
    for key in table:
        if key not in sections:
            problems.append(
                f"{key}: unknown key at the top level. Allowed keys: "
                f"{', '.join(sorted(sections))}."
            )
    for name in sections:
        if name not in table:
            if name == "sources":
                problems.append("sources: at least one [sources.NAME] table is needed.")
            continue
        value = table[name]
        if name in _SECTIONS_AS_DICTS:
            sub = _SECTIONS_AS_DICTS[name]
            if not isinstance(value, Mapping):
                problems.append(
                    f"{name}: must be a table of named tables "
                    f"([{name}.NAME]); {_got(value)}."
                )
                continue
            built = {}
            for k, v in value.items():
                if not NAME_PATTERN.fullmatch(str(k)):
                    problems.append(
                        f"{name}.{k}: the name {k!r} may use only letters, digits, "
                        "'_' and '-' (it names files in the output)."
                    )
                obj, errs = _validate_table(sub, v, f"{name}.{k}", file)
                problems.extend(errs)
                if obj is not None and NAME_PATTERN.fullmatch(str(k)):
                    built[k] = obj
            kwargs[name] = built
        else:
            obj, errs = _validate_table(hints[name], value, name, file)
            problems.extend(errs)
            if obj is not None:
                kwargs[name] = obj
    if "sources" in table and not kwargs.get("sources") and not problems:
        problems.append("sources: at least one [sources.NAME] table is needed.")
    return kwargs, problems


def _cross_problems(cfg: Config, raw_sources: set[str]) -> list[str]:
    """Consistency of the tables with each other (every problem, not the first)."""
    problems: list[str] = []
    add = problems.append
    known = ", ".join(cfg.sources) or "none"
    for name, src in cfg.sources.items():
        problems.extend(_engine_problems(name, src))
        for col, text in src.derive.items():
            try:
                parse_expression(text)
            except ExpressionError as exc:
                add(f"sources.{name}.derive.{col}: {exc}")
    for name, ind in cfg.indicators.items():
        key = f"indicators.{name}"
        if ind.source not in cfg.sources and ind.source not in raw_sources:
            add(
                f"{key}.source: names an unknown source {ind.source!r}. "
                f"Defined sources: {known}."
            )
        if ind.kind == "proportion" and ind.numerator is None:
            add(f"{key}.numerator: required for kind 'proportion'.")
        if ind.kind == "ratio":
            if ind.numerator is None and (
                ind.risk_model is None or ind.risk_model.outcome is None
            ):
                add(
                    f"{key}.numerator: the observed outcome is required for kind "
                    "'ratio'."
                )
            if ind.expected is None and ind.risk_model is None:
                add(
                    f"{key}.expected: kind 'ratio' needs '{key}.expected' (a column "
                    f"of expected counts) or a '{key}.risk_model' table."
                )
        if ind.kind == "mean" and ind.value is None:
            add(f"{key}.value: required for kind 'mean'.")
        if (
            ind.target is not None
            and ind.kind == "proportion"
            and not (0.0 <= ind.target <= 1.0)
        ):
            add(
                f"{key}.target: must be a proportion in [0, 1] for kind "
                f"'proportion'; got {ind.target!r}."
            )
        if ind.risk_model is not None and (
            (ind.risk_model.covariates is None) == (ind.risk_model.formula is None)
        ):
            add(
                f"{key}.risk_model: needs exactly one of 'covariates' (a list of "
                "columns or terms) and 'formula'."
            )
        if ind.cusum and ind.risk_model is None:
            add(
                f"{key}.cusum: needs a '{key}.risk_model' table (a risk-adjusted "
                "CUSUM uses each patient's predicted risk)."
            )
        if ind.cusum and ind.period is None:
            add(
                f"{key}.cusum: needs '{key}.period' (the date that orders the "
                "patients)."
            )
        if ind.spc is not None and ind.period is None:
            add(f"{key}.spc: needs '{key}.period' (the time column).")
    for name, qc in cfg.completeness.items():
        key = f"completeness.{name}"
        if name not in cfg.sources and name not in raw_sources:
            add(f"{key}: names an unknown source {name!r}. Defined sources: {known}.")
        exp = qc.expected_source
        if exp is not None and exp not in cfg.sources and exp not in raw_sources:
            add(f"{key}.expected_source: names an unknown source {exp!r}.")
        if not 0.0 < qc.ascertainment_threshold <= 1.0:
            add(
                f"{key}.ascertainment_threshold: must be a proportion in (0, 1] "
                f"(e.g. 0.8 for 80%); got {qc.ascertainment_threshold!r}."
            )
    for name, sv in cfg.surveys.items():
        key = f"surveys.{name}"
        if sv.source not in cfg.sources and sv.source not in raw_sources:
            add(
                f"{key}.source: names an unknown source {sv.source!r}. "
                f"Defined sources: {known}."
            )
        if sv.min_respondents < 1:
            add(
                f"{key}.min_respondents: must be an integer >= 1; got "
                f"{sv.min_respondents!r}."
            )
        if sv.level is not None and sv.level not in cfg.funnel.levels:
            add(
                f"{key}.level: must be one of funnel.levels "
                f"{cfg.funnel.levels!r}; got {sv.level!r}."
            )
    if not cfg.funnel.levels or any(not (0 < lv < 1) for lv in cfg.funnel.levels):
        add(
            f"funnel.levels: must list probabilities in (0, 1); got "
            f"{cfg.funnel.levels!r}."
        )
    if cfg.disclosure.min_count < 1:
        add(
            "disclosure.min_count: must be an integer >= 1 (1 turns suppression "
            f"off); got {cfg.disclosure.min_count!r}."
        )
    if cfg.run.workers < 0:
        add(f"run.workers: must be >= 0 (0: one per CPU); got {cfg.run.workers}.")
    if cfg.run.dpi < 20 or cfg.run.dpi > 600:
        add(f"run.dpi: must be in 20..600; got {cfg.run.dpi}.")
    return problems


#: A table name of an engine source (plain identifiers, passed to Ibis as names).
TABLE_PATTERN = TABLE_NAME
_MEMORY = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)", re.IGNORECASE)
_DUCKDB_KEYS = ("database", "memory_limit", "threads", "temp_directory")
_SPARK_KEYS = ("master", "app_name")


def _engine_problems(name: str, src: SourceConfig) -> list[str]:
    """Check the engine keys of one source: ``engine``, ``table``, ``connection``."""
    key = f"sources.{name}"
    out: list[str] = []
    add = out.append
    con = src.connection
    if src.engine == "pandas":
        if src.path is None:
            add(
                f"{key}.path: missing required key (a file or glob; a 'table' "
                'needs engine = "duckdb" or "spark").'
            )
        if src.table is not None:
            add(
                f"{key}.table: a table is read by an engine: set {key}.engine = "
                '"duckdb" or "spark".'
            )
        if con is not None:
            add(
                f"{key}.connection: settings for an engine, but {key}.engine is "
                "'pandas' (the default)."
            )
        return out
    engine = src.engine
    if isinstance(src.path, list):
        add(
            f"{key}.path: an engine source reads one file, glob or Parquet "
            f"dataset folder; got a list of {len(src.path)}."
        )
    if (src.path is None) == (src.table is None):
        add(
            f"{key}: an engine source needs exactly one of 'path' (a file, glob "
            "or Parquet dataset folder) and 'table' (a table of the engine)."
        )
    if src.table is not None and not TABLE_PATTERN.fullmatch(src.table):
        add(
            f"{key}.table: {src.table!r} is not a table name: use name, "
            "schema.name or catalog.schema.name, each part letters, digits and "
            "'_' (not starting with a digit)."
        )
    if src.schema is None:
        add(
            f"{key}.schema: required for engine {engine!r} (the records are "
            "validated in the engine against the schema)."
        )
    if src.format == "excel" or src.sheet is not None:
        add(f"{key}.format: Excel files are read by engine 'pandas' only.")
    if engine == "spark" and src.format == "csv":
        add(
            f"{key}.format: CSV row numbers need engine 'duckdb'; convert the "
            "file to Parquet for Spark."
        )
    if src.unique is not None:
        add(
            f"{key}.unique: not available for engine {engine!r}: the schema's "
            "unique key is checked across the whole dataset in the engine."
        )
    if con is None:
        if engine == "duckdb" and src.table is not None:
            add(
                f"{key}.table: needs {key}.connection.database (the DuckDB "
                "database file holding the table)."
            )
        return out
    ckey = f"{key}.connection"
    wrong = _SPARK_KEYS if engine == "duckdb" else _DUCKDB_KEYS
    for k in wrong:
        if getattr(con, k) is not None:
            add(
                f"{ckey}.{k}: a setting of engine "
                f"{'spark' if engine == 'duckdb' else 'duckdb'!r}; "
                f"{key}.engine is {engine!r}."
            )
    if engine == "duckdb":
        if con.session != "new":
            add(f"{ckey}.session: a Spark setting; {key}.engine is 'duckdb'.")
        if src.table is not None and con.database is None:
            add(
                f"{key}.table: needs {ckey}.database (the DuckDB database file "
                "holding the table)."
            )
        if con.threads is not None and con.threads < 1:
            add(f"{ckey}.threads: must be >= 1; got {con.threads}.")
        if con.memory_limit is not None and not _MEMORY.fullmatch(con.memory_limit):
            add(
                f"{ckey}.memory_limit: {con.memory_limit!r} is not a size such "
                "as '3GB' or '512MB'."
            )
    elif con.session == "active" and (con.master or con.app_name):
        add(
            f"{ckey}.session: 'active' uses the running Spark session as it is; "
            "'master' and 'app_name' are for session = 'new'."
        )
    return out


def _raise(file: str, problems: list[str]) -> None:
    if len(problems) == 1:
        exc = ConfigError(f"{file}: {problems[0]}")
    else:
        exc = ConfigError(
            f"{file}: {len(problems)} problems in the configuration:\n"
            + "\n".join(f"  {p}" for p in problems)
        )
    exc.problems = list(problems)  # type: ignore[attr-defined]
    raise exc


def parse_config(
    table: Mapping[str, Any],
    *,
    base_dir: str | Path | None = None,
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
    ccdata.errors.ConfigError: <config>: sources.a.shema: unknown key ...
    """
    cfg, problems = _parse(table, base_dir=base_dir, path=path)
    if problems:
        _raise("<config>" if path is None else str(path), problems)
    return cfg


def _parse(
    table: Mapping[str, Any], *, base_dir: str | Path | None, path: str | Path | None
) -> tuple[Config, list[str]]:
    """Return the configuration built from its good tables, and every problem found."""
    file = "<config>" if path is None else str(path)
    if not isinstance(table, Mapping):
        return Config(sources={}), [f"(top level): must be a table; {_got(table)}."]
    kwargs, problems = _validate_document(table, file)
    if base_dir is None:
        base_dir = Path(path).resolve().parent if path is not None else Path.cwd()
    raw_sources = (
        set(table["sources"]) if isinstance(table.get("sources"), Mapping) else set()
    )
    cfg = Config(
        **{"sources": {}, **kwargs},
        path=None if path is None else Path(path).resolve(),
        base_dir=Path(base_dir).resolve(),
    )
    problems.extend(_cross_problems(cfg, raw_sources))
    return cfg, problems


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
    return parse_config(_read_toml(p), path=p)


def _read_toml(p: Path) -> dict[str, Any]:
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the configuration file ({exc}).") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: the configuration file is not UTF-8 text.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}.") from None


def check_config(path: str | Path) -> list[str]:
    """Check a configuration file for ``ccdata config check FILE``, in one pass.

    Every mistake is listed with its key path: unknown keys, wrong types,
    values outside their choices (``indicators.ckd_bundle.spc: 'xmr' is not
    one of run, p, pp, u, up, c, i, mr``), bad names, ``derive`` expressions
    outside the language, inconsistent references, files that do not exist
    and globs that match nothing, unknown schemas, and every column a key
    names that the source's schema (or, without a schema, its file's header)
    does not have.

    Parameters
    ----------
    path : path-like
        The ``.toml`` file.

    Returns
    -------
    list of str
        Problems found, each ``"FILE: KEY: what is wrong"`` (empty when the
        configuration is good).

    Raises
    ------
    ConfigError
        When the file cannot be read as TOML at all.
    """
    p = Path(path)
    cfg, problems = _parse(_read_toml(p), base_dir=None, path=p)
    problems.extend(_file_problems(cfg))
    problems.extend(_column_problems(cfg))
    return [f"{cfg.path}: {x}" for x in problems]


def _file_problems(cfg: Config) -> list[str]:
    problems: list[str] = []
    if cfg.sites.path is not None and not cfg.resolve(cfg.sites.path).is_file():
        problems.append(f"sites.path: file not found: {cfg.resolve(cfg.sites.path)}")
    for name, src in cfg.sources.items():
        for pattern in cfg.unmatched_patterns(name):
            problems.append(f"sources.{name}.path: no file matches {pattern!r}")
        if src.engine != "pandas":
            problems.extend(_engine_file_problems(cfg, name, src))
            continue
        for f in cfg.source_files(name):
            if not f.is_file():
                problems.append(f"sources.{name}.path: file not found: {f}")
        if src.schema is not None:
            try:
                from ccdata.schemas import get_schema

                get_schema(src.schema)
            except Exception as exc:  # noqa: BLE001 - reported, not raised
                problems.append(f"sources.{name}.schema: {exc}")
    return problems


_ENGINE_SUFFIXES = {".parquet", ".pq", ".csv", ".txt", ".tsv"}


def _engine_file_problems(cfg: Config, name: str, src: SourceConfig) -> list[str]:
    """Files, database and table of an engine source (opened read-only)."""
    key = f"sources.{name}"
    out: list[str] = []
    for f in cfg.source_files(name):
        if f.is_dir():
            if not any(p.is_file() for p in f.rglob("*.parquet")):
                out.append(f"{key}.path: the folder {f} holds no .parquet files.")
        elif not f.is_file():
            out.append(f"{key}.path: file or folder not found: {f}")
        elif f.suffix.lower() not in _ENGINE_SUFFIXES:
            out.append(
                f"{key}.path: {f.name}: engine {src.engine!r} reads .parquet "
                "files, Parquet dataset folders and (DuckDB) .csv files."
            )
        elif src.engine == "spark" and f.suffix.lower() != ".parquet":
            out.append(
                f"{key}.path: {f.name}: CSV row numbers need engine 'duckdb'; "
                "convert the file to Parquet for Spark."
            )
    con = src.connection
    if con is None or src.engine != "duckdb" or con.database is None:
        return out
    db = cfg.resolve(con.database)
    if not db.is_file():
        out.append(f"{key}.connection.database: DuckDB database file not found: {db}")
        return out
    if src.table is not None and TABLE_PATTERN.fullmatch(src.table):
        try:
            from ccdata.engine import connect, read_source

            read_source(
                connect("duckdb", database=db, read_only=True), None, table=src.table
            )
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            out.append(f"{key}.table: {exc}")
    return out


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _source_columns(cfg: Config, name: str) -> tuple[list[str] | None, str]:
    """Columns of source ``name`` after rename and derive, and where they come from."""
    src = cfg.sources[name]
    cols: list[str] | None = None
    origin = ""
    if src.schema is not None:
        try:
            from ccdata.schemas import get_schema

            cols = [str(c) for c in get_schema(src.schema).columns]
            origin = f"schema {src.schema!r}"
        except Exception:  # noqa: BLE001 - reported by _file_problems
            return None, ""
    else:
        files = [f for f in cfg.source_files(name) if f.is_file()]
        if not files:
            return None, ""
        try:
            from ccdata.io import read_table

            cols = [str(c) for c in read_table(files[0]).columns]
            origin = f"the header of {files[0].name}"
        except Exception:  # noqa: BLE001 - the run reports unreadable files
            return None, ""
    cols = [src.rename.get(c, c) for c in cols]
    return cols, origin


def _suggest(col: str, cols: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(col, cols, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _column_problems(cfg: Config) -> list[str]:
    problems: list[str] = []
    final: dict[str, tuple[list[str], str]] = {}
    for name, src in cfg.sources.items():
        cols, origin = _source_columns(cfg, name)
        if cols is None:
            continue

        def need(
            key: str,
            col: str,
            cols: list[str] = cols,
            origin: str = origin,
            name: str = name,
        ) -> None:
            if col not in cols:
                problems.append(
                    f"{key}: column {col!r} is not in source {name!r} ({origin})"
                    f"{_suggest(col, cols)}; columns are {', '.join(cols)}."
                )

        for col in src.filter:
            need(f"sources.{name}.filter.{col}", col)
        for new, text in src.derive.items():
            try:
                expr = parse_expression(text)
            except ExpressionError:
                continue  # reported by _cross_problems
            for col in expr.columns:
                need(f"sources.{name}.derive.{new}", col)
            cols = [*cols, new]
        final[name] = (cols, origin)
    for name, ind in cfg.indicators.items():
        if ind.source not in final:
            continue
        cols, origin = final[ind.source]
        key = f"indicators.{name}"
        used = {
            "unit": ind.unit,
            "numerator": ind.numerator,
            "denominator": ind.denominator,
            "expected": ind.expected,
            "value": ind.value,
            "period": ind.period,
        }
        if ind.risk_model is not None and ind.risk_model.outcome is not None:
            used["risk_model.outcome"] = ind.risk_model.outcome
        checks = [(f"{key}.{k}", c) for k, c in used.items() if c is not None]
        checks += [(f"{key}.filter.{c}", c) for c in ind.filter]
        if ind.risk_model is not None:
            for i, term in enumerate(ind.risk_model.covariates or []):
                if _IDENT.fullmatch(term):
                    checks.append((f"{key}.risk_model.covariates[{i}]", term))
        for k, c in checks:
            if c not in cols:
                problems.append(
                    f"{k}: column {c!r} is not in source {ind.source!r} ({origin})"
                    f"{_suggest(c, cols)}; columns are {', '.join(cols)}."
                )
    for name, sv in cfg.surveys.items():
        if sv.source not in final:
            continue
        cols, origin = final[sv.source]
        for i, c in enumerate(sv.case_mix):
            if c not in cols:
                problems.append(
                    f"surveys.{name}.case_mix[{i}]: column {c!r} is not in source "
                    f"{sv.source!r} ({origin}){_suggest(c, cols)}; columns are "
                    f"{', '.join(cols)}."
                )
    for name, qc in cfg.completeness.items():
        key = f"completeness.{name}"
        if name in final:
            cols, origin = final[name]
            checks = [(f"{key}.fields[{i}]", c) for i, c in enumerate(qc.fields or [])]
            checks += [
                (f"{key}.{k}", c)
                for k, c in (
                    ("event_date", qc.event_date),
                    ("entered_date", qc.entered_date),
                )
                if c is not None
            ]
            for k, c in checks:
                if c not in cols:
                    problems.append(
                        f"{k}: column {c!r} is not in source {name!r} ({origin})"
                        f"{_suggest(c, cols)}; columns are {', '.join(cols)}."
                    )
        exp = qc.expected_source
        if exp is not None and exp in final:
            cols, origin = final[exp]
            for k, c in (
                ("expected_column", qc.expected_column),
                ("expected_period", qc.expected_period),
            ):
                if c not in cols:
                    problems.append(
                        f"{key}.{k}: column {c!r} is not in source {exp!r} "
                        f"({origin}){_suggest(c, cols)}; columns are "
                        f"{', '.join(cols)}."
                    )
    return problems
