"""UI pages /people, /people/clusters, /people/{person_id}: review clusters, name and organise people.

The pages read through the gateway's PeopleService (the same checks as the REST and gRPC People APIs);
the forms they hold POST to ui/people_actions.py. Every list is paged, so a 100k-photo library stays quick."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import PurePath
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from imgsearch.common.db.people_records import ERA_STARTS, ERAS, FaceRecord, PersonRecord
from imgsearch.gateway.paging import MAX_OFFSET
from imgsearch.gateway.people import MAX_NAME_CHARS, PeopleService
from imgsearch.gateway.service import Gateway
from imgsearch.gateway.ui.people_actions import people_actions
from imgsearch.gateway.ui.render import Pager, Pages, query
from imgsearch.gateway.ui.render import pager as paged
from imgsearch.search.domain import thumbnail_url

PEOPLE_PER_PAGE = 48
CLUSTERS_PER_PAGE = 12
PHOTOS_PER_PAGE = 48
FACES_PER_PAGE = 30
CHOICES = 100  # people offered in a "merge into" / "move to" select (the biggest first)
PROTOTYPE_SCAN = 100  # a person's faces come pinned and prototypes first: read pages of this many ...
PROTOTYPE_PAGES = 5  # ... at most this many, for the eras section
UNAVAILABLE = "Faces are not available: this gateway runs without the People service."

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items to skip")]
Hidden = Annotated[bool, Query(description="list hidden ones too")]
NameQuery = Annotated[str, Query(max_length=MAX_NAME_CHARS)]


def pager(base: str, total: int, start: int, limit: int, key: str = "offset", **params: Any) -> Pager:
    """Previous / Next links over the parameter ``key`` (an offset), keeping the other parameters."""
    return paged(start, limit, total, lambda offset: query(base, **{**params, key: offset or None}))


def here(request: Request) -> str:
    """This page's path and query without the notice: where a form sends the browser back to."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "notice"]
    return request.url.path + ("?" + urlencode(params) if params else "")


@dataclass(frozen=True)
class EraView:
    era: str
    label: str
    faces: list[FaceRecord]
    covered: bool
    reached: bool  # False: the person is too young for it (known birth date), so it is no gap


def era_label(era: str | None) -> str:
    if era is None:
        return "Age unknown"
    start = ERA_STARTS[era]
    index = ERAS.index(era)
    title = era.replace("_", " ").capitalize()
    if index + 1 == len(ERAS):
        return f"{title} ({start:.0f}+)"
    end = ERA_STARTS[ERAS[index + 1]]
    return f"{title} ({start:.0f}–{end - 1:.0f})" if start else f"{title} (under {end:.0f})"


def era_views(person: PersonRecord, prototypes: list[FaceRecord], today: date) -> list[EraView]:
    """The six eras in order (then "Age unknown" when some prototypes have no era), with their prototypes."""
    age = (today - person.birth_date).days / 365.2425 if person.birth_date else None
    views = [
        EraView(era, era_label(era), [f for f in prototypes if f.era == era], era in person.eras,
                age is None or ERA_STARTS[era] <= age)
        for era in ERAS
    ]
    unknown = [f for f in prototypes if f.era is None]
    if unknown:
        views.append(EraView("unknown", era_label(None), unknown, True, True))
    return views


@dataclass(frozen=True)
class PhotoView:
    id: str
    name: str
    thumbnail: str
    taken: str


def people_pages(gateway: Gateway, pages: Pages) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    router.include_router(people_actions(gateway))

    def unavailable(request: Request, title: str) -> HTMLResponse:
        return pages.render(request, "people.html", {"title": title, "unavailable": UNAVAILABLE})

    @router.get("/people")
    async def people_list(request: Request, offset: Offset = 0, hidden: Hidden = False,
                          q: NameQuery = "") -> HTMLResponse:
        people = gateway.people
        if people is None:
            return unavailable(request, "People")
        page = await people.list_people(PEOPLE_PER_PAGE, offset, include_hidden=hidden, query=q)
        return pages.render(request, "people.html", {
            "title": "People", "unavailable": "", "people": page.items, "q": q, "hidden": hidden,
            "pager": pager("/people", page.total, offset, PEOPLE_PER_PAGE, q=q, hidden=int(hidden) or None),
        })

    @router.get("/people/clusters")
    async def clusters(request: Request, offset: Offset = 0, hidden: Hidden = False) -> HTMLResponse:
        people = gateway.people
        if people is None:
            return unavailable(request, "Clusters to review")
        page = await people.list_clusters(CLUSTERS_PER_PAGE, offset, include_hidden=hidden)
        return pages.render(request, "people_clusters.html", {
            "clusters": page.items, "hidden": hidden, "here": here(request), "single": None,
            "choices": await choices(people) if page.items else [],
            "pager": pager("/people/clusters", page.total, offset, CLUSTERS_PER_PAGE,
                           hidden=int(hidden) or None),
        })

    @router.get("/people/clusters/{cluster_id:int}")
    async def one_cluster(request: Request, cluster_id: int, offset: Offset = 0) -> HTMLResponse:
        people = gateway.people
        if people is None:
            return unavailable(request, f"Cluster {cluster_id}")
        cluster, members = await people.cluster(cluster_id, FACES_PER_PAGE, offset)
        return pages.render(request, "people_clusters.html", {
            "clusters": [cluster], "single": members.items, "hidden": cluster.hidden, "here": here(request),
            "choices": await choices(people),
            "pager": pager(f"/people/clusters/{cluster.id}", members.total, offset, FACES_PER_PAGE),
        })

    @router.get("/people/{person_id:int}")
    async def person_page(request: Request, person_id: int, offset: Offset = 0,
                          faces_offset: Offset = 0) -> HTMLResponse:
        people = gateway.people
        if people is None:
            return unavailable(request, "Person")
        person = await people.person(person_id)
        base = f"/people/{person.id}"
        photos = await people.person_photos(person.id, PHOTOS_PER_PAGE, offset)
        faces = await people.person_faces(person.id, FACES_PER_PAGE, faces_offset)
        return pages.render(request, "person.html", {
            "person": person, "here": here(request),
            "photos": await photo_views(gateway, photos.items),
            "photos_pager": pager(base, photos.total, offset, PHOTOS_PER_PAGE, key="offset",
                                  faces_offset=faces_offset or None),
            "eras": era_views(person, await prototypes(people, person.id), datetime.now(UTC).date()),
            "faces": faces.items, "era_label": era_label,
            "faces_pager": pager(base, faces.total, faces_offset, FACES_PER_PAGE, key="faces_offset",
                                 offset=offset or None),
            "choices": [p for p in await choices(people) if p.id != person.id],
        })

    return router


async def choices(people: PeopleService) -> list[PersonRecord]:
    """People to pick in a select: the ones with the most faces, hidden ones too."""
    return (await people.list_people(CHOICES, 0, include_hidden=True)).items


async def prototypes(people: PeopleService, person_id: int) -> list[FaceRecord]:
    """The person's pinned and prototype faces (they come first in person_faces)."""
    found: list[FaceRecord] = []
    for page_no in range(PROTOTYPE_PAGES):
        page = await people.person_faces(person_id, PROTOTYPE_SCAN, page_no * PROTOTYPE_SCAN)
        chosen = [f for f in page.items if f.prototype or f.pinned]
        found += chosen
        if len(chosen) < len(page.items) or len(page.items) < PROTOTYPE_SCAN:
            break
    return found


async def photo_views(gateway: Gateway, image_ids: list[str]) -> list[PhotoView]:
    records = await gateway.images.get_many(image_ids)  # one query for the page, not one per photo
    views = []
    for image_id in image_ids:
        record = records.get(image_id)
        name, taken = f"Photo {image_id[:8]}", ""
        if record is not None:
            name = PurePath(record.paths[0]).name if record.paths else name
            taken = record.taken_at.strftime("%Y-%m-%d") if record.taken_at else ""
        views.append(PhotoView(image_id, name, thumbnail_url(image_id), taken))
    return views
