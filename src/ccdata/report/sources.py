"""Reading the sources of a batch run: submissions, validation, site list."""

from __future__ import annotations

import glob
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from ccdata.errors import ConfigError, SubmissionReadError
from ccdata.io import read_submission, read_table
from ccdata.report.config import Config, SourceConfig
from ccdata.report.expr import evaluate, parse_expression

__all__ = [
    "ERROR_COLUMNS",
    "PROVENANCE",
    "SourceData",
    "apply_filter",
    "infer_types",
    "load_sites",
    "problem_rows",
    "read_source",
]

log = logging.getLogger("ccdata.report")

#: Columns added to a source's rows: the file and spreadsheet row each came from.
PROVENANCE = ("_file", "_row")

#: Columns of every validation error table written by the batch job.
ERROR_COLUMNS = [
    "source",
    "file",
    "site_id",
    "row",
    "column",
    "value",
    "check",
    "message",
]


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
    """Read and check the registered site list, or None without ``[sites] path``.

    The file is read by :func:`ccdata.io.read_table` (UTF-8 with or without
    BOM, Windows-1252, UTF-16; comma, semicolon or tab; headers matched
    ignoring case, spaces and hyphens, so ``Site ID`` is ``site_id``). Like a
    submission it is validated: every row needs an identifier, identifiers
    are unique (after trimming spaces). A bad site list is a problem of the
    whole run (:class:`~ccdata.errors.ConfigError`, exit 2), since every
    site's data is checked against it.
    """
    if cfg.sites.path is None:
        return None
    path = cfg.resolve(cfg.sites.path)
    if not path.is_file():
        raise ConfigError(f"{cfg.path}: key 'sites.path': file not found: {path}")
    sc = cfg.sites
    wanted = [c for c in (sc.id_column, sc.name_column, sc.community_column) if c]
    try:
        sites = read_table(path, columns=wanted)
    except SubmissionReadError as exc:
        raise ConfigError(
            f"{cfg.path}: key 'sites.path': the site list cannot be read: {exc}"
        ) from None
    if sc.id_column not in sites.columns:
        raise ConfigError(
            f"{cfg.path}: key 'sites.id_column': column {sc.id_column!r} not "
            f"found in {path}; columns are {list(sites.columns)!r}."
        )
    sites = sites.copy()
    ids = sites[sc.id_column]
    empty = ids.isna() | (ids.astype(str).str.strip() == "")
    problems = [f"row {r}: no site identifier" for r in sites.index[empty.to_numpy()]]
    dup = ids.duplicated(keep=False) & ~empty
    for site, rows in (
        sites.index[dup.to_numpy()].to_series().groupby(ids[dup].to_numpy())
    ):
        problems.append(
            f"site {site!r} is listed more than once (rows {', '.join(map(str, rows))})"
        )
    if problems:
        raise ConfigError(
            f"{cfg.path}: key 'sites.path': the site list {path.name} "
            f"has problems: {'; '.join(problems[:20])}."
        )
    for col in sites.columns:
        sites[col] = sites[col].fillna("").astype(str)
    return sites.reset_index(drop=True)


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


_LEADING_ZERO = re.compile(r"^[+-]?0\d")


def infer_types(
    table: pd.DataFrame, *, keep_text: Iterable[str] = ("site_id",)
) -> pd.DataFrame:
    """Numbers for the text columns of an unvalidated table whose every value is one.

    A column is converted only when every non-empty cell reads as a number and
    none has a leading zero (``"007"`` is a code, not 7); identifier columns
    (``keep_text``) stay text.

    Examples
    --------
    >>> t = pd.DataFrame({"site_id": ["1", "2"], "n": ["3", "4.5"], "c": ["01", "2"]})
    >>> out = infer_types(t)
    >>> out["site_id"].tolist(), out["n"].tolist(), out["c"].tolist()
    (['1', '2'], [3.0, 4.5], ['01', '2'])
    """
    out = table.copy()
    keep = set(keep_text)
    for col in out.columns:
        if col in keep:
            continue
        s = out[col]
        if pd.api.types.is_numeric_dtype(s):
            continue
        present = s.notna()
        if not present.any():
            continue
        text = s[present].astype(str)
        if text.str.match(_LEADING_ZERO).any():
            continue
        num = pd.to_numeric(text, errors="coerce")
        if num.notna().all():
            full = pd.to_numeric(s, errors="coerce")
            if (full.dropna() % 1 == 0).all() and not full.isna().any():
                full = full.astype("int64")
            out[col] = full
    return out


def apply_filter(
    data: pd.DataFrame, filters: dict[str, Any], *, key: str, cfg: Config
) -> pd.DataFrame:
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


def _apply_transforms(
    cfg: Config, name: str, src: SourceConfig, data: pd.DataFrame
) -> pd.DataFrame:
    if src.rename:
        data = data.rename(columns=src.rename)
    data = apply_filter(data, src.filter, key=f"sources.{name}.filter", cfg=cfg)
    for col, text in src.derive.items():
        try:
            value = evaluate(parse_expression(text), data)
        except ConfigError as exc:
            raise ConfigError(
                f"{cfg.path}: key 'sources.{name}.derive.{col}': {exc}"
            ) from None
        data = data.assign(**{col: value.to_numpy()})
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
        errors[col] = (
            errors[col]
            .map(
                lambda v: (
                    ""
                    if v is None or (isinstance(v, float) and np.isnan(v))
                    else str(v)
                )
            )
            .astype(object)
        )
    return errors


def problem_rows(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Build a validation error table (columns :data:`ERROR_COLUMNS`) from dicts."""
    frame = pd.DataFrame(
        [{c: r.get(c, "") for c in ERROR_COLUMNS} for r in rows], columns=ERROR_COLUMNS
    )
    return frame.astype(object)


def _file_owner(
    cfg: Config, src: SourceConfig, path: Path, site_ids: list[str] | None
) -> str | None:
    """Return the site a file belongs to, from its name or folder (``owner`` key).

    ``"file"``: the file's stem (``T01.csv``, or ``T01_...``/``T01-...``);
    ``"folder"``: the folder holding it; ``"auto"`` (default): either, when
    it is a registered site id; ``"none"``: never.
    """
    if src.owner == "none":
        return None
    stem, folder = path.stem, path.parent.name
    if src.owner == "file":
        return (
            re.split(r"[_\-. ]", stem, maxsplit=1)[0]
            if site_ids is None
            else _registered_prefix(stem, site_ids) or stem
        )
    if src.owner == "folder":
        return folder
    if site_ids is None:
        return None
    if folder in site_ids:
        return folder
    return _registered_prefix(stem, site_ids)


def _registered_prefix(stem: str, site_ids: list[str]) -> str | None:
    best = None
    for sid in site_ids:
        if stem == sid or (stem.startswith(sid) and stem[len(sid)] in "_-. "):
            if best is None or len(sid) > len(best):
                best = sid
    return best


def read_source(cfg: Config, name: str, sites: pd.DataFrame | None) -> SourceData:
    """Read every file of source ``name``, validate it and apply its transforms.

    Nothing is lost without a word, and one site's file cannot stop the run:

    * a file that cannot be read (empty, binary, missing columns...) is a
      problem of the site it belongs to (by its name or folder), reported in
      ``errors`` with check ``unreadable_file``; the other files are used;
    * a glob of the path list that matches nothing is a problem
      (``no_file``);
    * rows that fail validation are left out of ``data`` and described in
      ``errors`` (one row per problem, columns :data:`ERROR_COLUMNS`);
    * a row whose site id is not the file's owner (``owner`` key) is left out
      (``site_not_file_owner``);
    * a key (``unique``, default the schema's unique key) repeated in another
      file of the source is left out after its first file
      (``duplicate_across_files``, naming both files and rows), so that a
      re-uploaded file is not counted twice.

    A source with ``engine = "duckdb"`` or ``"spark"`` is read and validated
    in that engine instead (:mod:`ccdata.report.engine_sources`): only the
    valid rows of the columns the run uses come into memory; the ``owner``
    rule and the transforms then apply as here.

    Raises (exit code 2) only when no file at all matches.
    """
    src = cfg.sources[name]
    if src.engine != "pandas":
        return _read_engine_source(cfg, name, sites)
    files = cfg.source_files(name)
    if not files:
        raise ConfigError(
            f"{cfg.path}: key 'sources.{name}.path': no file matches {src.path!r}."
        )
    site_ids = _site_ids(cfg, sites, src)
    frames, errs = [], []
    problems: list[dict[str, Any]] = []
    n_rows = n_rejected = 0
    validated = src.schema is not None
    notes: list[str] = []
    if not validated:
        notes.append("read without validation (no schema configured)")
    for pattern in cfg.unmatched_patterns(name):
        problems.append(
            {
                "file": pattern,
                "check": "no_file",
                "message": f"no file matches {pattern!r} (source {name!r})",
            }
        )
    used: list[Path] = []
    for f in files:
        if not f.exists() and not glob.has_magic(str(f)):
            raise SubmissionReadError(
                f"{f}: submission file not found (source {name!r}, key "
                f"'sources.{name}.path').",
                path=f,
            )
    for f in files:
        rel = _display_path(cfg, f)
        owner = _file_owner(cfg, src, f, site_ids)
        try:
            if validated:
                res = read_submission(
                    f, schema=src.schema, sites=site_ids, sheet=src.sheet
                )
                if len(res.valid) + len(res.rejected) == 0:
                    # an empty or header-only file: nothing to use from it
                    raise SubmissionReadError(
                        f"Cannot use {f.name!r}: {res.errors['message'].iloc[0]}.",
                        path=f,
                    )
                valid = res.valid
                n = len(res.valid) + len(res.rejected)
                n_rejected += len(res.rejected)
                file_errs = _tidy_errors(res.to_frame(), name, rel)
                if owner is not None and len(file_errs):
                    # a problem in a site's own file is that site's, whatever
                    # id the row carries (a mistyped id is shown redacted)
                    file_errs = _redact_other_ids(file_errs, owner, site_ids)
                    file_errs["site_id"] = owner
                errs.append(file_errs)
            else:
                id_cols = {
                    "site_id",
                    *(old for old, new in src.rename.items() if new == "site_id"),
                }
                valid = infer_types(read_table(f, sheet=src.sheet), keep_text=id_cols)
                n = len(valid)
        except (SubmissionReadError, OSError) as exc:
            problems.append(
                {
                    "site_id": owner or "",
                    "file": rel,
                    "check": "unreadable_file",
                    "message": f"{exc} The file was left out.",
                }
            )
            log.warning("source %s: %s left out: %s", name, rel, exc)
            continue
        used.append(f)
        n_rows += n
        valid = valid.copy()
        valid["_row"] = np.asarray(valid.index, dtype=object)
        valid["_file"] = rel
        if (
            not validated
            and src.community is not None
            and site_ids is not None
            and "site_id" in valid.columns
        ):
            # no schema to check the ids: check them against the site list here
            ids = valid["site_id"].astype(str)
            unknown = ~ids.isin(site_ids) | valid["site_id"].isna()
            if unknown.any():
                bad = valid[unknown.to_numpy()]
                problems.extend(
                    {
                        "site_id": v,
                        "file": rel,
                        "row": r,
                        "column": "site_id",
                        "value": v,
                        "check": "registered_sites",
                        "message": f"site_id {v!r} is not a registered site of "
                        f"community {src.community!r}; the row was left out",
                    }
                    for r, v in zip(
                        bad["_row"], bad["site_id"].astype(str), strict=True
                    )
                )
                n_rejected += int(unknown.sum())
                valid = valid[~unknown.to_numpy()]
        valid, n_wrong = _owner_filter(valid, owner, rel, site_ids, problems)
        n_rejected += n_wrong
        frames.append(valid.reset_index(drop=True))
    if not frames:
        raise SubmissionReadError(
            f"source {name!r}: no file could be read: "
            + "; ".join(
                p["message"] for p in problems if p["check"] == "unreadable_file"
            ),
            path=files[0],
        )
    data = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    data, dups = _drop_duplicates_across_files(data, _key_columns(src), name)
    problems.extend(dups)
    n_rejected += len(dups)
    data = _apply_transforms(cfg, name, src, data)
    if problems:
        errs.append(
            _tidy_errors(problem_rows(problems), name, "").assign(
                file=[p.get("file", "") for p in problems]
            )
        )
    errors = (
        pd.concat(errs, ignore_index=True)
        if errs
        else pd.DataFrame({c: pd.Series(dtype=object) for c in ERROR_COLUMNS})
    )
    return SourceData(
        name=name,
        files=used,
        data=data,
        errors=errors,
        n_rows=n_rows,
        n_rejected=n_rejected,
        validated=validated,
        notes=notes,
    )


def _owner_filter(
    valid: pd.DataFrame,
    owner: str | None,
    rel: str,
    site_ids: list[str] | None,
    problems: list[dict[str, Any]],
) -> tuple[pd.DataFrame, int]:
    """Leave out the rows of another site in ``owner``'s file (a problem each)."""
    if owner is None or "site_id" not in valid.columns:
        return valid, 0
    wrong = valid["site_id"].astype(str) != owner
    if not wrong.any():
        return valid, 0
    bad = valid[wrong.to_numpy()]
    n = int(wrong.sum())
    problems.extend(
        {
            "site_id": owner,
            "file": rel,
            "row": r,
            "column": "site_id",
            "value": v,
            "check": "site_not_file_owner",
            "message": f"site_id {v!r} in a file of site {owner!r}; the "
            "row was left out (key 'owner' of the source)",
        }
        for r, v in zip(bad["_row"], bad["site_id"].astype(str), strict=True)
    )
    redacted = _redact_other_ids(problem_rows(problems[-n:]), owner, site_ids)
    problems[-n:] = cast(list[dict[str, Any]], redacted.to_dict("records"))
    return valid[~wrong.to_numpy()], n


def _read_engine_source(
    cfg: Config, name: str, sites: pd.DataFrame | None
) -> SourceData:
    """Read source ``name`` through its engine (``engine = "duckdb" | "spark"``).

    Validation runs in the engine (:mod:`ccdata.report.engine_sources`); the
    valid rows of the used columns come back indexed by spreadsheet row, and
    from there on the source is handled as a file read in memory: the
    ``owner`` rule, the ``rename``, ``filter`` and ``derive`` transforms, and
    the error table with columns :data:`ERROR_COLUMNS`.
    """
    from ccdata.report.engine_sources import read_engine_records

    src = cfg.sources[name]
    site_ids = _site_ids(cfg, sites, src)
    path: Path | None = None
    if src.table is not None:
        label = src.table
    else:
        assert isinstance(src.path, str)  # checked with the configuration
        path = cfg.resolve(src.path)
        label = src.path if glob.has_magic(str(path)) else _display_path(cfg, path)
    got = read_engine_records(cfg, name, site_ids, label)
    if got.n_rows == 0:
        raise SubmissionReadError(
            f"source {name!r}: {label} holds no records.", path=path or Path(label)
        )
    owner = (
        _file_owner(cfg, src, path, site_ids)
        if path is not None and not glob.has_magic(str(path))
        else None
    )
    file_errs = _tidy_errors(got.errors, name, label)
    if owner is not None and len(file_errs):
        file_errs = _redact_other_ids(file_errs, owner, site_ids)
        file_errs["site_id"] = owner
    valid = got.valid.copy()
    valid["_row"] = np.asarray(valid.index, dtype=object)
    valid["_file"] = label
    problems: list[dict[str, Any]] = []
    valid, n_wrong = _owner_filter(valid, owner, label, site_ids, problems)
    data = _apply_transforms(cfg, name, src, valid.reset_index(drop=True))
    errs = [file_errs]
    if problems:
        errs.append(
            _tidy_errors(problem_rows(problems), name, "").assign(
                file=[p.get("file", "") for p in problems]
            )
        )
    notes = [
        f"read and validated by engine {src.engine!r}; the valid rows of "
        f"{len(got.columns)} used column(s) were read into memory"
    ]
    if len(got.counts) and bool((got.counts["problems"] > got.counts["shown"]).any()):
        total = int(got.counts["problems"].sum())
        notes.append(
            f"{total} validation problems counted; the first "
            f"{int(got.counts['shown'].max())} of each column and check are listed"
        )
        log.warning("source %s: %s", name, notes[-1])
    return SourceData(
        name=name,
        files=got.files,
        data=data,
        errors=pd.concat(errs, ignore_index=True),
        n_rows=got.n_rows,
        n_rejected=got.n_rejected + n_wrong,
        validated=True,
        notes=notes,
    )


_OTHER_SITE = "[another site]"


def _redact_other_ids(
    errors: pd.DataFrame, owner: str, site_ids: list[str] | None
) -> pd.DataFrame:
    """Hide another registered site's id typed into ``owner``'s file.

    The problem goes to the owner's pack, which must not name other sites.
    """
    others = set(site_ids or ()) - {owner}
    if not others or not len(errors):
        return errors
    errors = errors.copy()
    hit = errors["value"].astype(str).isin(others).to_numpy()
    for i in np.flatnonzero(hit):
        v = str(errors["value"].iloc[i])
        msg = str(errors["message"].iloc[i])
        errors.iloc[int(i), cast(int, errors.columns.get_loc("message"))] = re.sub(
            r"(?<![A-Za-z0-9])" + re.escape(v) + r"(?![A-Za-z0-9])", _OTHER_SITE, msg
        )
        errors.iloc[int(i), cast(int, errors.columns.get_loc("value"))] = _OTHER_SITE
    return errors


def _key_columns(src: SourceConfig) -> list[str]:
    if src.unique is not None:
        return list(src.unique)
    if src.schema is None:
        return []
    from ccdata.schemas import key_columns

    try:
        return key_columns(src.schema)
    except Exception:  # noqa: BLE001 - an unknown schema failed earlier
        return []


def _drop_duplicates_across_files(
    data: pd.DataFrame, keys: list[str], source: str
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Keep the first file's row of each key; report the repeats naming both files."""
    if (
        not keys
        or len(data) == 0
        or any(k not in data.columns for k in keys)
        or data["_file"].nunique() < 2
    ):
        return data, []
    key = (
        data[keys].astype(str).agg("\x1f".join, axis=1)
        if len(keys) > 1
        else data[keys[0]].astype(str)
    )
    dup = key.duplicated(keep="first").to_numpy()
    if not dup.any():
        return data, []
    first = data.loc[~key.duplicated(keep="first").to_numpy(), ["_file", "_row"]]
    first.index = key[~dup].to_numpy()
    rows = []
    for i in np.flatnonzero(dup):
        k = key.iloc[i]
        f0: Any
        r0: Any
        f0, r0 = first.loc[k, "_file"], first.loc[k, "_row"]
        if f0 == data["_file"].iloc[i]:
            continue  # a duplicate inside one file is reported by validation
        shown = ", ".join(f"{c}={data[c].iloc[i]}" for c in keys)
        site = str(data["site_id"].iloc[i]) if "site_id" in data else ""
        rows.append(
            {
                "site_id": site,
                "file": data["_file"].iloc[i],
                "row": data["_row"].iloc[i],
                "column": ", ".join(keys),
                "value": shown,
                "check": "duplicate_across_files",
                "message": f"the key ({shown}) is also in {f0} row {r0}: a "
                "duplicate upload? The row was left out so that it "
                f"is not counted twice (source {source!r}).",
            }
        )
    drop = np.zeros(len(data), dtype=bool)
    drop[
        [
            i
            for i in np.flatnonzero(dup)
            if first.loc[key.iloc[i], "_file"] != data["_file"].iloc[i]
        ]
    ] = True
    return data[~drop].reset_index(drop=True), rows


def _display_path(cfg: Config, path: Path) -> str:
    try:
        return path.resolve().relative_to(cfg.base_dir).as_posix()
    except ValueError:
        return path.name
