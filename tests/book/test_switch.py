"""The two editions of the book: where a page's language switch goes, and which notebook a page shows."""

import pytest
from coursebook.editions import EDITIONS, edition, switch_target

EN, ZH = EDITIONS["en"], EDITIONS["zh"]


@pytest.mark.parametrize("pagename, here, there, exists, expected", [
    ("index", EN, ZH, True, "zh/index.html"),
    ("notebooks/03_activations", EN, ZH, True, "../zh/notebooks/03_activations.html"),
    ("notebooks/09_new", EN, ZH, False, "../zh/index.html"),
    ("search", EN, ZH, True, "zh/search.html"),
    ("index", ZH, EN, True, "../index.html"),
    ("notebooks/03_activations", ZH, EN, True, "../../notebooks/03_activations.html"),
    ("notebooks/09_new", ZH, EN, False, "../../index.html"),
])
def test_the_switch_goes_to_the_same_page_in_the_other_edition(pagename, here, there, exists, expected):
    assert switch_target(pagename, here=here, there=there, exists=exists) == expected


def test_each_page_shows_the_notebook_of_its_own_edition():
    assert EN.repository_path("notebooks/05_softmax") == "notebooks/05_softmax.ipynb"
    assert ZH.repository_path("notebooks/05_softmax") == "notebooks/zh/05_softmax.ipynb"
    assert (EN.language, ZH.language, ZH.name) == ("en", "zh", "中文")


def test_an_unknown_edition_names_the_choices():
    with pytest.raises(ValueError, match="'en', 'zh'"):
        edition("fr")
