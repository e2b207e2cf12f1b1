"""The search page's form: the URL's values kept as typed (so a bad one shows as typed, with its message),
and the same checks as the REST API (domain.check_people, http_metadata.metadata_filters, search_filters)
turning them into the search request's filters."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import date, datetime, time
from typing import Any

from starlette.datastructures import QueryParams

from imgsearch.api.v1 import search_pb2 as pb
from imgsearch.common.errors import InvalidInput
from imgsearch.gateway.api.http_metadata import metadata_filters
from imgsearch.search.domain import MAX_OFFSET, check_people
from imgsearch.search.messages import search_filters

PAGE_SIZE = 60
PEOPLE_FIELDS = ("people_all", "people_any", "people_none")
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class SearchForm:
    q: str = ""
    similar: str = ""  # an image id: "more like this" instead of a text query
    people_all: tuple[str, ...] = ()
    people_any: tuple[str, ...] = ()
    people_none: tuple[str, ...] = ()
    taken_after: str = ""
    taken_before: str = ""
    folder: str = ""
    camera: str = ""
    near: str = ""
    radius_km: str = ""
    offset: str = ""

    @classmethod
    def from_query(cls, params: QueryParams) -> SearchForm:
        values: dict[str, Any] = {}
        for field in fields(cls):
            if field.name in PEOPLE_FIELDS:
                values[field.name] = tuple(v.strip() for v in params.getlist(field.name) if v.strip())
            else:
                values[field.name] = params.get(field.name, "").strip()
        return cls(**values)

    @property
    def active(self) -> bool:
        """A search to run: a text query or an image to find more like (otherwise the page shows a hint)."""
        return bool(self.q or self.similar)

    def params(self, **changes: Any) -> dict[str, Any]:
        """The URL parameters of this search (for render.query: empty values are left out)."""
        values: dict[str, Any] = {field.name: getattr(self, field.name) for field in fields(self)}
        values.update(changes)
        return values

    def page(self) -> int:
        """The offset into the results: InvalidInput unless 0 <= offset <= MAX_OFFSET."""
        if not self.offset:
            return 0
        try:
            offset = int(self.offset)
        except ValueError:
            raise InvalidInput(f"offset must be a whole number (got {self.offset!r})") from None
        if not 0 <= offset <= MAX_OFFSET:
            raise InvalidInput(f"offset must be between 0 and {MAX_OFFSET} (got {offset})")
        return offset

    def filters(self) -> pb.SearchFilters:
        """InvalidInput (with what to fix) for a malformed date, person id, position or radius. The folder
        is checked by the gateway and the date order by the search service, as for the REST API."""
        people = check_people(*(_ids(name, getattr(self, name)) for name in PEOPLE_FIELDS))
        metadata = metadata_filters(
            near=self.near or None, radius_km=_number("radius_km", self.radius_km),
            camera=self.camera or None,
        )
        return search_filters(
            taken_after=_when("taken_after", self.taken_after, end_of_day=False),
            taken_before=_when("taken_before", self.taken_before, end_of_day=True),
            folder=self.folder or None, people=people, near=metadata.near, camera=metadata.camera,
        )

    def selected(self, name: str, value: object) -> bool:
        return str(value) in getattr(self, name)


def _ids(name: str, values: tuple[str, ...]) -> list[int]:
    ids = []
    for value in values:
        try:
            ids.append(int(value))
        except ValueError:
            raise InvalidInput(f"{name}: {value!r} is not a person id") from None
    return ids


def _number(name: str, text: str) -> float | None:
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(f"{name} must be a number of kilometres (got {text!r})") from None


def _when(name: str, text: str, end_of_day: bool) -> datetime | None:
    """A date (YYYY-MM-DD, what a date input sends) or an ISO 8601 time; naive = UTC. A date alone in
    taken_before means the end of that day, so the whole day is included (as in the REST API)."""
    if not text:
        return None
    try:
        if _DATE_ONLY.fullmatch(text):
            return datetime.combine(date.fromisoformat(text), time.max if end_of_day else time.min)
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name} must be a date (YYYY-MM-DD) or an ISO 8601 time (got {text!r})") from None
