"""Regressions found in review of the web UI (issue 5): the search page with person ids that are no
numbers int() takes answers 400 with the form, never 500."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from imgsearch.gateway.api.http import create_app
from tests.support.gateway_world import build_world


@pytest.mark.parametrize("value", ["²", "9" * 5000])
@pytest.mark.parametrize("field", ["people_all", "people_any", "people_none"])
async def test_a_person_id_int_refuses_is_a_400_page_with_the_form(
    tmp_path: Path, executor: ThreadPoolExecutor, field: str, value: str
) -> None:
    world = await build_world(tmp_path, executor)
    transport = httpx.ASGITransport(app=create_app(world.gateway), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        response = await http.get("/", params={"q": "sunset", field: value})
    assert response.status_code == 400
    alert = re.search(r'<p class="error" role="alert">([^<]*)</p>', response.text)
    assert alert and "is not a person id" in alert.group(1)
    assert '<form role="search"' in response.text
