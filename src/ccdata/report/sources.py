"""Reading the sources of a batch run: submissions, validation, site list."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ccdata.errors import ConfigError, SubmissionReadError
from ccdata.io import read_submission
from ccdata.report.config import Config, SourceConfig

__all__ = ["ERROR_COLUMNS", "SourceData", "apply_filter", "load_sites", "read_source"]

log = logging.getLogger("ccdata.report")

#: Columns of every validation error table written by the batch job.
ERROR_COLUMNS = ["source", "file", "site_id", "row", "column", "value", "check",
                 "message"]


@dataclass
class SourceData:
    """One source after reading, validation and the configured transforms."""

    name: str
    files: list[Path]
    data: pd.DataFrame
    errors: pd.DataFrame
    n_rows: int
    n_rejected: int
    validated: bool
    notes: list[str] = field(default_factory=list)


def load_sites(cfg: Config) -> pd.DataFrame | None:
    """Read the registered site list, or None when ``[sites] path`` is not set."""
    if cfg.sites.path is None:
        return None
    path = cfg.resolve(cfg.sites.path)
    if not path.is_file():
        raise ConfigError(f"{cfg.path}: key 'sites.path': file not found: {path}")
    sites = pd.read_csv(path, dtype=str, keep_default_na=False)
    if cfg.sites.id_column not in sites.columns:
        raise ConfigError(
            f"{cfg.path}: key 'sites.id_column': column {cfg.sites.id_column!r} not "
            f"found in {path}; columns are {list(sites.columns)!r}."
        )
    return sites


def _site_ids(cfg: Config, sites: pd.DataFrame | None, src: SourceConfig):
    if sites is None:
        return None
    if src.community is not None:
        col = cfg.sites.community_column
        if col not in sites.columns:
            raise ConfigError(
                f"{cfg.path}: a source names a community but the site list has no "
                f"{col!r} column (key 'sites.community_column')."
            )
        sites = sites[sites[col] == src.community]
    return sorted(sites[cfg.sites.id_column].astype(str).unique())


def _read_plain(path: Path, fmt: str, sheet: str | None) -> pd.DataFrame:
    if fmt == "auto":
        suffix = path.suffix.lower()
        fmt = {".xlsx": "excel", ".xls": "excel", ".parquet": "parquet",
               ".pq": "parquet"}.get(suffix, "csv")
    try:
        if fmt == "excel":
            return pd.read_excel(path, sheet_name=sheet or 0)
        if fmt == "parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, encoding="utf-8", dtype={"site_id": str})
    except (OSError, ValueError, UnicodeDecodeError, ImportError) as exc:
        raise SubmissionReadError(f"{path}: cannot read the file as a table ({exc}).",
                                  path=path) from exc


def apply_filter(data: pd.DataFrame, filters: dict[str, Any], *, key: str,
                 cfg: Config) -> pd.DataFrame:
    """Keep rows whose column equals the value (or one of the listed values)."""
    for col, wanted in filters.items():
        if col not in data.columns:
            raise ConfigError(
                f"{cfg.path}: key '{key}.{col}': column {col!r} not "
                f"found in the data; columns are {list(map(str, data.columns))!r}."
            )
        values = wanted if isinstance(wanted, list) else [wanted]
        col_values = data[col]
        mask = col_values.isin(values) | col_values.astype(str).isin(
            [str(v) for v in values]
        )
        data = data[mask.to_numpy()]
    return data


def _apply_transforms(cfg: Config, name: str, src: SourceConfig,
                      data: pd.DataFrame) -> pd.DataFrame:
    if src.rename:
        data = data.rename(columns=src.rename)
    data = apply_filter(data, src.filter, key=f"sources.{name}.filter", cfg=cfg)
    for col, expr in src.derive.items():
        try:
            data = data.assign(**{col: data.eval(expr, engine="python")})
        except Exception as exc:  # noqa: BLE001 - reported as a configuration error
            raise ConfigError(
                f"{cfg.path}: key 'sources.{name}.derive.{col}': cannot evaluate "
                f"{expr!r} ({type(exc).__name__}: {exc})."
            ) from None
    return data.reset_index(drop=True)


def _tidy_errors(errors: pd.DataFrame, source: str, file: str) -> pd.DataFrame:
    errors = errors.copy()
    for col in ERROR_COLUMNS:
        if col not in errors.columns:
            errors[col] = source if col == "source" else (file if col == "file" else "")
    errors["source"] = source
    errors["file"] = file
    errors = errors[ERROR_COLUMNS]
    for col in ("site_id", "column", "value", "check", "message"):
        errors[col] = errors[col].map(lambda v: "" if v is None or (
            isinstance(v, float) and np.isnan(v)) else str(v)).astype(object)
    return errors


def read_source(cfg: Config, name: str, sites: pd.DataFrame | None) -> SourceData:
    """Read every file of source ``name``, validate it and apply its transforms.

    Rows that fail validation are left out of ``data`` and described in
    ``errors`` (one row per problem, columns :data:`ERROR_COLUMNS`). A file
    that cannot be read at all raises (exit code 2).
    """
    src = cfg.sources[name]
    files = cfg.source_files(name)
    if not files:
        raise ConfigError(f"{cfg.path}: key 'sources.{name}.path': no file matches "
                          f"{src.path!r}.")
    site_ids = _site_ids(cfg, sites, src)
    frames, errs = [], []
    n_rows = n_rejected = 0
    validated = src.schema is not None
    notes: list[str] = []
    if not validated:
        notes.append("read without validation (no schema configured)")
    for f in files:
        if not f.is_file():
            raise SubmissionReadError(
                f"{f}: submission file not found (source {name!r}).", path=f)
        rel = _display_path(cfg, f)
        if validated:
            res = read_submission(f, schema=src.schema, sites=site_ids,
                                  sheet=src.sheet)
            valid = res.valid
            n = len(res.valid) + len(res.rejected)
            n_rejected += len(res.rejected)
            errs.append(_tidy_errors(res.to_frame(), name, rel))
        else:
            valid = _read_plain(f, src.format, src.sheet)
            n = len(valid)
        n_rows += n
        frames.append(valid)
    data = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    data = _apply_transforms(cfg, name, src, data)
    errors = (pd.concat(errs, ignore_index=True) if errs
              else pd.DataFrame({c: pd.Series(dtype=object) for c in ERROR_COLUMNS}))
    return SourceData(name=name, files=files, data=data, errors=errors,
                      n_rows=n_rows, n_rejected=n_rejected, validated=validated,
                      notes=notes)


def _display_path(cfg: Config, path: Path) -> str:
    try:
        return path.resolve().relative_to(cfg.base_dir).as_posix()
    except ValueError:
        return path.name
