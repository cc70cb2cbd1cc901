"""One spelling per tag: case, separators, diacritics and plurals never make a second tag."""

import pytest

from notes.tags import normalise_tag, normalise_tags


@pytest.mark.parametrize(
    "variants, expected",
    [
        (["Machine-Learning", "machine learning", "machine_learning", " #Machine  Learning "],
         "machine-learning"),
        (["Notes", "note", "NOTE"], "note"),
        (["Cafés", "cafe", "café"], "cafe"),
        (["Recipes", "recipe"], "recipe"),
        (["Stories", "story"], "story"),
        (["Boxes", "box"], "box"),
        (["kubernetes"], "kubernetes"),
        (["Postgres"], "postgres"),
        (["news"], "news"),
        (["class"], "class"),
    ],
)  # fmt: skip
def test_it_gives_every_variant_the_same_spelling(variants, expected):
    assert {normalise_tag(v) for v in variants} == {expected}


def test_it_drops_tags_with_nothing_in_them_and_keeps_them_short():
    assert normalise_tag("  - _ ") == ""
    assert normalise_tag("<script>") == "script"
    assert len(normalise_tag("x" * 100)) == 40
    assert normalise_tags(["A", "a", "", "B s"]) == ["a", "b-s"]
