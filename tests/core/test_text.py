"""Text cleaning for what the database must store."""

from __future__ import annotations

from helpdesk.core.text import clean_data, clean_text


def test_clean_text_removes_nul_and_replaces_lone_surrogates():
    assert clean_text("a\x00b") == "ab"
    assert clean_text("x\ud800y") == "x\ufffdy"
    assert clean_text("مرحبا 👋") == "مرحبا 👋"


def test_clean_data_cleans_nested_strings_and_keys():
    assert clean_data({"k\x00": ["v\x00", {"n": 1, "s": "\udfff"}]}) == {
        "k": ["v", {"n": 1, "s": "\ufffd"}]
    }
