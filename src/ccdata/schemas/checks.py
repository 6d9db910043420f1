"""Cross-field checks that know which columns they involve.

Each factory returns an ordinary :class:`pandera.api.checks.Check`, so a
schema that uses them can still be run by pandera itself
(``schema.validate(df)``). The check records the columns it involves in its
``statistics`` together with a message template (``"message"``, with
``{c0}``/``{v0}`` the first column's name and value, ``{c1}``/``{v1}`` the
second's); :func:`ccdata.validate` reads them to report a failure under
*each* column involved with that plain-English message. A check of your own
gets the same treatment when its statistics carry ``columns`` and
``message``; ccdata never special-cases a check by its name.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import pandera.pandas as pa

__all__ = ["date_order", "not_greater_than", "registered_sites"]


def _present(frame: pd.DataFrame, *columns: str) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for col in columns:
        mask &= frame[col].notna()
    return mask


def date_order(earlier: str, later: str) -> pa.Check:
    """Check that ``earlier`` is on or before ``later`` in every row.

    Rows where either date is missing pass (missingness is checked
    separately). A failure is reported under both columns with a message
    such as "procedure_date 2024-03-02 is before admission_date 2024-03-05".

    Parameters
    ----------
    earlier, later : str
        Names of two date columns.

    Returns
    -------
    pandera.api.checks.Check
        A DataFrame-level check named ``"date_order"``.

    Examples
    --------
    >>> import pandas as pd
    >>> check = date_order("admission_date", "procedure_date")
    >>> df = pd.DataFrame({"admission_date": pd.to_datetime(["2024-03-05"]),
    ...                    "procedure_date": pd.to_datetime(["2024-03-02"])})
    >>> check(df).check_output.tolist()
    [False]
    """

    def _fn(frame: pd.DataFrame) -> pd.Series:
        ok = frame[earlier] <= frame[later]
        return (ok.fillna(False) | ~_present(frame, earlier, later)).astype(bool)

    return pa.Check(
        _fn,
        name="date_order",
        error=f"{earlier} must be on or before {later}",
        statistics={
            "columns": [earlier, later],
            "earlier": earlier,
            "later": later,
            "message": "{c1} {v1} is before {c0} {v0}",
        },
    )


def not_greater_than(smaller: str, larger: str) -> pa.Check:
    """Check that column ``smaller`` is at most column ``larger`` in every row.

    Used for numerator <= denominator, events <= eligible patients, and
    "all elements of a bundle" <= each element. Rows where either value is
    missing pass. The message reads "numerator 12 is greater than
    denominator 10".

    Parameters
    ----------
    smaller, larger : str
        Names of two numeric columns.

    Returns
    -------
    pandera.api.checks.Check
        A DataFrame-level check named ``"not_greater_than"``.

    Examples
    --------
    >>> import pandas as pd
    >>> check = not_greater_than("numerator", "denominator")
    >>> df = pd.DataFrame({"numerator": [3, 12], "denominator": [10, 10]})
    >>> check(df).check_output.tolist()
    [True, False]
    """

    def _fn(frame: pd.DataFrame) -> pd.Series:
        ok = frame[smaller] <= frame[larger]
        return (ok.fillna(False) | ~_present(frame, smaller, larger)).astype(bool)

    return pa.Check(
        _fn,
        name="not_greater_than",
        error=f"{smaller} must not be greater than {larger}",
        statistics={
            "columns": [smaller, larger],
            "smaller": smaller,
            "larger": larger,
            "message": "{c0} {v0} is greater than {c1} {v1}",
        },
    )


def registered_sites(sites: Iterable[str]) -> pa.Check:
    """Check that a site identifier is in the registered site list.

    Parameters
    ----------
    sites : iterable of str
        The registered site identifiers.

    Returns
    -------
    pandera.api.checks.Check
        A column check named ``"registered_site"``; the message reads
        "site_id 'S99' is not in the registered site list".

    Examples
    --------
    >>> import pandas as pd
    >>> check = registered_sites(["S01", "S02"])
    >>> check(pd.Series(["S01", "S99"])).check_output.tolist()
    [True, False]
    """
    allowed = sorted({str(s).strip() for s in sites})
    allowed_set = frozenset(allowed)

    def _fn(series: pd.Series) -> pd.Series:
        return series.astype("str").isin(allowed_set)

    return pa.Check(
        _fn,
        name="registered_site",
        error="is not in the registered site list",
        statistics={"allowed_values": allowed},
    )
