from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_access_log_has_no_query_strings_or_file_tokens(client, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="relay.access"):
        client.get("/login/", {"q": "+4790000001"})
        client.get("/files/secret-token-value/")
    lines = [r.getMessage() for r in caplog.records if r.name == "relay.access"]
    assert lines[0].startswith("GET /login/ 200")
    assert "+4790000001" not in " ".join(lines) and "secret-token-value" not in " ".join(lines)
