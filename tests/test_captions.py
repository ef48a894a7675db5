"""Splitting a vase caption into its six dimensions, and parsing dates (no model needed)."""
from __future__ import annotations

import pytest

from vaselib.vlm.captions import DIMENSIONS, parse_caption, parse_date_range, split_caption

EXAMPLES = {
    "Athenian black-figure lekythos, c. 525–475 BCE, depicting Herakles and the boar; "
    "Marathon, Attica.": {
        "fabric": "Athenian", "technique": "black-figure", "shape": "lekythos",
        "decoration": "Herakles and the boar", "dating": "c. 525–475 BCE",
        "attribution": "Marathon, Attica"},
    "Squat Athenian red-figure lekythos, c. 425–375 BCE, depicting a woman and Eros; "
    "Cleveland Museum of Art.": {
        "fabric": "Athenian", "technique": "red-figure", "shape": "squat lekythos",
        "decoration": "a woman and Eros", "dating": "c. 425–375 BCE",
        "attribution": "Cleveland Museum of Art"},
    "Athenian Black-Figure Panathenaic Amphora, c. 525–475 BCE, Athena and Chariot Motifs, "
    "Attributed to Kleophrades Painter": {
        "fabric": "Athenian", "technique": "black-figure", "shape": "Panathenaic amphora",
        "decoration": "Athena and Chariot Motifs", "dating": "c. 525–475 BCE",
        "attribution": "Kleophrades Painter"},
}
EXAMPLES_LIST = list(EXAMPLES)


@pytest.mark.parametrize("caption", EXAMPLES_LIST)
def test_the_three_example_captions(caption):
    assert split_caption(caption) == EXAMPLES[caption]


def test_painter_and_provenance_are_both_kept_apart():
    parts = parse_caption(EXAMPLES_LIST[2])
    assert parts.painter == "Kleophrades Painter" and parts.provenance is None
    parts = parse_caption(EXAMPLES_LIST[0])
    assert parts.painter is None and parts.provenance == "Marathon, Attica"
    assert parts.date_range == (-525, -475)


@pytest.mark.parametrize("text, expected", [
    ("c. 525–475 BCE", (-525, -475)),          # en dash
    ("c. 525—475 BCE", (-525, -475)),          # em dash
    ("525-475 BC", (-525, -475)),              # hyphen, BC
    ("525 to 475 B.C.", (-525, -475)),
    ("between 525 and 475 BC", (-525, -475)),
    ("525 BCE – 475 BCE", (-525, -475)),
    ("ca. 500 BCE", (-500, -500)),             # single year
    ("circa 480 BC", (-480, -480)),
    ("c. 500", (-500, -500)),                  # no era: BCE
    ("AD 79", (79, 79)),
    ("79 CE", (79, 79)),
    ("10 BC – AD 10", (-10, 10)),
    ("4th century BC", (-400, -300)),
    ("sixth century BCE", (-600, -500)),
    ("late 6th century BCE", (-533, -500)),
    ("early 5th century BC", (-500, -467)),
    ("mid-5th c. BC", (-467, -433)),
    ("second half of the 5th century BCE", (-450, -400)),
    ("first quarter of the 5th century BC", (-500, -475)),
    ("6th–5th century BCE", (-600, -400)),
    ("late 6th–early 5th century BC", (-533, -467)),
    ("1st century AD", (0, 100)),
    ("a lekythos made around 440 BC in Athens", (-440, -440)),
])
def test_parse_date_range(text, expected):
    assert parse_date_range(text) == expected


@pytest.mark.parametrize("text", ["", "two satyrs and 3 maenads", "Athenian lekythos",
                                  "inventory 1234"])
def test_no_date(text):
    assert parse_date_range(text) is None


def test_always_six_keys_and_none_for_what_is_missing():
    assert list(split_caption("")) == list(DIMENSIONS)
    assert set(split_caption("").values()) == {None}
    dims = split_caption("A hydria.")
    assert dims["shape"] == "hydria"
    assert dims["fabric"] is dims["technique"] is dims["dating"] is dims["attribution"] is None


def test_synonyms_map_to_canonical_names():
    dims = split_caption("Attic red figure kylix, 480 BC, showing Dionysos with satyrs")
    assert (dims["fabric"], dims["technique"], dims["shape"]) == ("Athenian", "red-figure", "kylix")
    assert dims["decoration"] == "Dionysos with satyrs"
    assert split_caption("black glaze skyphos")["technique"] == "black-gloss"
    assert split_caption("black-figured amphora")["technique"] == "black-figure"


def test_longest_match_first():
    assert split_caption("Athenian neck-amphora")["shape"] == "neck-amphora"
    assert split_caption("Athenian neck amphora")["shape"] == "neck-amphora"
    assert split_caption("Apulian red-figure volute-krater")["shape"] == "volute-krater"
    assert split_caption("a lebes gamikos")["shape"] == "lebes gamikos"


def test_messy_output_in_another_order():
    text = ("Depicting Herakles and the boar, this Athenian black-figure lekythos "
            "(c. 525–475 BCE) was found at Marathon, Attica.")
    assert split_caption(text) == EXAMPLES[EXAMPLES_LIST[0]]


def test_rambling_model_output():
    text = ("This is an Attic red figure kylix from around 480 BC. It shows Dionysos with satyrs "
            "and maenads, attributed to the Brygos Painter, now in the Louvre. I think it is "
            "very beautiful.")
    dims = split_caption(text)
    assert dims == {"fabric": "Athenian", "technique": "red-figure", "shape": "kylix",
                    "decoration": "Dionysos with satyrs and maenads",
                    "dating": "around 480 BC", "attribution": "Brygos Painter"}
    assert parse_caption(text).provenance == "Musée du Louvre, Paris"


def test_decoration_stops_at_date_attribution_and_provenance():
    dims = split_caption("Apulian red-figure volute-krater showing a warrior's departure, "
                         "4th century BC, attributed to the Darius Painter.")
    assert dims["decoration"] == "a warrior's departure"
    assert dims["attribution"] == "Darius Painter"
    dims = split_caption("Athenian black-figure neck-amphora depicting Achilles and Ajax playing "
                         "a board game, by Exekias, c. 540 BC, from Vulci")
    assert dims["decoration"] == "Achilles and Ajax playing a board game"
    assert dims["attribution"] == "Exekias"
    parts = parse_caption("Corinthian aryballos with an owl from Vulci")
    assert parts.provenance == "Vulci, Etruria"


def test_words_inside_the_decoration_do_not_override_the_vessel():
    dims = split_caption("Athenian black-figure hydria depicting women carrying an amphora")
    assert dims["shape"] == "hydria"
    assert dims["decoration"] == "women carrying an amphora"
    assert split_caption("amphora decorated with geometric patterns")["decoration"] == (
        "geometric patterns")


def test_painter_and_provenance_outside_the_vocabulary():
    assert split_caption("Laconian black-figure cup by the Hunt Painter")["attribution"] == (
        "Hunt Painter")
    assert split_caption("Athenian lekythos, found at Eretria")["attribution"] == "Eretria"
    assert split_caption("Boeotian kantharos, c. 400 BC; private collection")["attribution"] == (
        "private collection")


def test_accented_and_unaccented_collections():
    for text in ("Athenian lekythos; Musée du Louvre, Paris",
                 "Athenian lekythos; Musee du Louvre"):
        assert split_caption(text)["attribution"] == "Musée du Louvre, Paris"
