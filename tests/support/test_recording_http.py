"""The recording server parses each body kind the differential tests compare."""

from __future__ import annotations

import httpx
import pytest

from tests.support.recording_http import Answer, RecordingServer


def test_recorded_bodies_parse_to_the_same_fields_whatever_their_encoding():
    with RecordingServer(lambda request: Answer(200, {"ok": True})) as server, httpx.Client(trust_env=False) as client:
        client.post(f"{server.url}/form?a=1&a=2", data={"to": ["x@example.com", "y@example.com"], "v": "é"})
        client.post(
            f"{server.url}/multipart", data={"to": ["x@example.com", "y@example.com"], "v": "é"}, files={"f": b"1"}
        )
        client.post(f"{server.url}/json", json={"to": ["x@example.com"]})
        form, multipart, as_json = server.take()
    assert (form.path, form.query) == ("/form", {"a": ["1", "2"]})
    assert form.fields() == {"to": ["x@example.com", "y@example.com"], "v": ["é"]}
    assert multipart.content_type == "multipart/form-data"
    assert multipart.fields() == {"to": ["x@example.com", "y@example.com"], "v": ["é"], "f": ["1"]}
    assert as_json.fields() == {"to": ["x@example.com"]}


def test_a_body_of_another_kind_is_refused_with_its_content_type():
    with RecordingServer(lambda request: Answer(204)) as server, httpx.Client(trust_env=False) as client:
        client.post(server.url, content=b"<xml/>", headers={"content-type": "text/xml"})
        (request,) = server.take()
    with pytest.raises(ValueError, match="'text/xml': not JSON, form or multipart"):
        request.fields()
