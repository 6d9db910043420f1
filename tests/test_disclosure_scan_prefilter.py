"""The identifier scan's prefilter never changes what the full pattern finds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ccdata.report import disclosure as d

IDS = ("T01", "T02", "A/B", "A_B", "A B", "$\\notacommand$", "AND", "Brookton General")
PIECES = (
    *IDS,
    " ",
    "_",
    "x",
    "1",
    "t02",
    "a/b",
    "brookton general",
    "\u212a",
    "\u017f",
)


def _full(text: str, every: tuple[str, ...]) -> list[str]:
    return sorted(d._id_pattern(every).findall(text))


def _fast(text: str, every: tuple[str, ...]) -> list[str]:
    runs = [(i, {r.casefold() for r in d._ALNUM_RUN.findall(i)}) for i in every]
    cand = d._candidates(text, runs, every)
    return sorted(d._id_pattern(cand).findall(text)) if cand else []


@given(st.lists(st.sampled_from(PIECES), max_size=30))
def test_prefiltered_scan_equals_the_full_pattern(pieces):
    text = "".join(pieces)
    every = tuple(sorted(IDS, key=lambda s: (-len(s), s)))
    assert _fast(text, every) == _full(text, every)


def test_known_answers():
    every = tuple(sorted(IDS, key=lambda s: (-len(s), s)))
    assert _fast("see lung_t02_brookton.csv", every) == ["t02"]
    assert _fast("T011 and xT02", every) == []  # no boundary: no hit
    assert _fast("A/B, A B", every) == ["A B", "A/B"]
    assert _fast("a/b", every) == []  # a short alphabetic id: as written
    # the Kelvin sign is one case of "k" for re.IGNORECASE: full pattern used
    assert _fast("BROO\u212aTON GENERAL", every) == ["BROO\u212aTON GENERAL"]
