"""Value keys: hashes of text narrow down duplicates, pandera decides.

``Parsed.value_keys`` gives Arrow-backed text a 64-bit FNV-1a hash instead of
``pd.factorize`` codes. Equal text must give equal keys (else a duplicate
would slip through the narrowing); a collision may only cost time, never
change a verdict.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ccdata.validation as validation
import ccdata.validation._parse as parse
from ccdata.validation import validate

arrow = pytest.mark.skipif(
    not parse.PANDAS3, reason="pandas 2 keeps text as objects (factorize codes)"
)


def _fnv1a(text: str) -> int:
    """FNV-1a of the UTF-8 bytes, length mixed into the offset basis, as int64."""
    h = 0xCBF29CE484222325 ^ len(text.encode())
    for b in text.encode():
        h = ((h ^ b) * 0x100000001B3) % 2**64
    return h - 2**64 if h >= 2**63 else h


@arrow
def test_text_hashes_known_answer():
    # an independent byte-by-byte computation, and sliced (offset) arrays
    words = ["R0000001A", "", "é", "a b", "R0000001A", "x" * 40]
    s = pd.Series(["skip", *words], dtype="str").iloc[1:]
    got = parse.text_hashes(s)
    assert got is not None
    assert got.tolist() == [_fnv1a(w) for w in words]
    assert got.dtype == np.int64


@arrow
@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.text(max_size=12), st.sampled_from(["A", "A ", "7"])),
        max_size=40,
    )
)
def test_text_hashes_equal_exactly_for_equal_text(values):
    s = pd.Series(values, dtype="str")
    keys = parse.text_hashes(s)
    assert keys is not None and len(keys) == len(values)
    codes = pd.factorize(s, use_na_sentinel=False)[0]
    for i in range(len(values)):
        for j in range(len(values)):
            # equal values (all missing ones alike) -> equal keys; different
            # values -> different keys (a 64-bit collision here has odds ~1e-16)
            assert (keys[i] == keys[j]) == (codes[i] == codes[j])


@arrow
def test_long_text_falls_back_to_factorize():
    s = pd.Series(["a" * (parse.MAX_HASHED_LENGTH + 1), "b"], dtype="str")
    assert parse.text_hashes(s) is None
    p = parse.parse_column("v", s, pa.Column("str").dtype)
    assert p.value_keys().tolist() == [0, 1]


def test_object_text_has_factorize_codes():
    s = pd.Series(["a", None, "a", "b"], dtype=object)
    assert parse.text_hashes(s) is None


def _schema() -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "record_id": pa.Column("str", nullable=True, unique=True),
            "age": pa.Column("int64", pa.Check.in_range(18, 110)),
            "site_id": pa.Column("str"),
        },
        unique=["site_id", "record_id"],
        name="keys",
    )


@settings(max_examples=40, deadline=None)
@given(
    ids=st.lists(st.sampled_from(["A", "B", " A", "", "C", "AB", "é"]), max_size=20),
    data=st.data(),
)
def test_colliding_keys_change_no_verdict(ids, data):
    # every text value given the same key: all rows become candidates, and
    # pandera's verdict (and every message) is unchanged
    n = len(ids)
    ages = data.draw(
        st.lists(st.sampled_from(["30", "abc", "200"]), min_size=n, max_size=n)
    )
    sites = data.draw(st.lists(st.sampled_from(["S1", "S2"]), min_size=n, max_size=n))
    frame = pd.DataFrame({"record_id": ids, "age": ages, "site_id": sites}, dtype="str")
    expected = validate(frame, _schema())
    original = parse.text_hashes
    try:
        parse.text_hashes = lambda values: (
            None if original(values) is None else np.zeros(len(values), np.int64)
        )
        got = validate(frame, _schema())
    finally:
        parse.text_hashes = original
    pd.testing.assert_frame_equal(got.errors, expected.errors, check_exact=True)
    pd.testing.assert_frame_equal(got.valid, expected.valid, check_exact=True)
    pd.testing.assert_frame_equal(got.rejected, expected.rejected, check_exact=True)


def test_repeated_and_in_known_answer():
    keys = np.array([5, -3, 5, 2**62, -3, 7], dtype=np.int64)
    assert validation._repeated(keys).tolist() == [True, True, True, False, True, False]
    assert validation._in(keys, np.array([7, 2**62])).tolist() == [
        False,
        False,
        False,
        True,
        False,
        True,
    ]
    assert validation._repeated(keys[:1]).tolist() == [False]
    assert validation._in(keys, keys[:0]).tolist() == [False] * 6


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 2), st.integers(2, 40)),
        max_size=40,
        unique_by=lambda t: t[1],
    )
)
def test_group_rows_equals_groupby(pairs):
    # sizes and "rows 2, 5 and 3 more" texts, as pandas' groupby would give them
    from ccdata.validation._explain import row_list

    group = np.array([g for g, _ in pairs], dtype=np.int64)
    rows = np.array([r for _, r in pairs], dtype=np.int64)
    sizes, texts = validation._group_rows(group, rows)
    frame = pd.DataFrame({"g": group, "r": rows})
    by = frame.groupby("g")["r"]
    assert sizes.tolist() == by.transform("size").tolist()
    expected = by.agg(lambda r: row_list(r.to_numpy())).reindex(group).tolist()
    assert texts.tolist() == expected
