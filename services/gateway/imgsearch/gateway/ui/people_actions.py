"""The People pages' forms: each POSTs one edit to the PeopleService and redirects (303) back with a notice.
Bad input raises the service's ImgSearchError, which renders as the HTML error page with its 4xx status."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse

from imgsearch.common.db.people_records import PersonRecord
from imgsearch.common.errors import ImgSearchError, InvalidInput, Unavailable
from imgsearch.gateway.paging import MAX_PAGE
from imgsearch.gateway.people import MAX_NAME_CHARS, PeopleService, PersonEdit
from imgsearch.gateway.service import Gateway
from imgsearch.gateway.ui.render import local_path, redirect

MAX_BACK_CHARS = 2000
MAX_MOVED = 100  # faces moved by one form (a page of faces holds fewer)
NAME_SCAN_PAGES = 20  # pages of MAX_PAGE people searched for an exact name
_CLUSTER_PAGE = re.compile(r"/people/clusters/(\d+)(?:[?#]|$)")

Back = Annotated[str, Form(max_length=MAX_BACK_CHARS)]
Name = Annotated[str, Form(max_length=MAX_NAME_CHARS * 4)]  # the service trims, then checks the length
Flag = Annotated[bool, Form()]
PersonId = Annotated[int, Form()]


def back_to(back: str, default: str) -> str:
    """Where the form came from, when that is one of the People pages (never another site)."""
    plain = back.startswith("/people") and all(" " < ch < "\x7f" and ch != "\\" for ch in back)
    return back if plain and local_path(back) == back else default


async def person_named(people: PeopleService, name: str) -> PersonRecord | None:
    """The person whose name is exactly ``name`` (trimmed), hidden ones too; None when nobody is."""
    name = name.strip()
    for page_no in range(NAME_SCAN_PAGES):
        page = await people.list_people(MAX_PAGE, page_no * MAX_PAGE, include_hidden=True, query=name)
        for person in page.items:
            if person.name == name:
                return person
        if (page_no + 1) * MAX_PAGE >= page.total:
            break
    return None


async def cluster_still_there(people: PeopleService, target: str) -> str:
    """target, unless it is the page of one cluster that is gone (its last faces left it): the list then."""
    page = _CLUSTER_PAGE.match(target)
    if page is None:
        return target
    try:
        await people.cluster(int(page.group(1)), 1, 0)
    except ImgSearchError:
        return "/people/clusters"
    return target


def faces_word(n: int) -> str:
    return f"{n} face" if n == 1 else f"{n} faces"


def people_actions(gateway: Gateway) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def service() -> PeopleService:
        if gateway.people is None:
            raise Unavailable("faces are not available: this gateway runs without the People service")
        return gateway.people

    # -- clusters ---------------------------------------------------------------------------------

    @router.post("/people/clusters/run")
    async def find_people(back: Back = "") -> RedirectResponse:
        await service().request_clustering()
        return redirect(back_to(back, "/people/clusters"),
                        "Looking for people: new clusters appear here when the run has finished.")

    @router.post("/people/clusters/{cluster_id:int}/label")
    async def label_cluster(cluster_id: int, name: Name = "", person_id: PersonId = 0,
                            back: Back = "") -> RedirectResponse:
        people = service()
        if person_id:
            person = await people.label_cluster(cluster_id, person_id=person_id)
        else:
            existing = await person_named(people, name) if name.strip() else None
            if existing is not None:
                person = await people.label_cluster(cluster_id, person_id=existing.id)
            else:
                person = await people.label_cluster(cluster_id, name=name)
        target = back_to(back, "/people/clusters")
        if target.split("?")[0] == f"/people/clusters/{cluster_id}":  # that cluster is gone now
            target = f"/people/{person.id}"
        return redirect(target, f"Cluster {cluster_id} labeled {person.name}, "
                                f"who now has {faces_word(person.face_count)}.")

    @router.post("/people/clusters/{cluster_id:int}/hidden")
    async def hide_cluster(cluster_id: int, hidden: Flag, back: Back = "") -> RedirectResponse:
        await service().update_cluster(cluster_id, hidden=hidden)
        done = "hidden" if hidden else "shown again"
        return redirect(back_to(back, "/people/clusters"), f"Cluster {cluster_id} {done}.")

    # -- faces ------------------------------------------------------------------------------------

    @router.post("/people/faces/{face_id}/uncluster")
    async def remove_from_cluster(face_id: str, back: Back = "") -> RedirectResponse:
        people = service()
        face = await people.remove_from_cluster(face_id)
        target = await cluster_still_there(people, back_to(back, "/people/clusters"))
        return redirect(target, f"Face removed from its cluster ({face.id[:8]}).")

    @router.post("/people/faces/{face_id}/reject")
    async def not_this_person(face_id: str, person_id: PersonId, back: Back = "") -> RedirectResponse:
        people = service()
        person = await people.person(person_id)
        await people.reject_face(face_id, person.id)
        return redirect(back_to(back, f"/people/{person.id}"),
                        f"Noted: that face is not {person.name}, and will not be matched to them again.")

    @router.post("/people/faces/{face_id}/pin")
    async def pin_face(face_id: str, pinned: Flag, back: Back = "") -> RedirectResponse:
        face = await service().pin_face(face_id, pinned)
        default = f"/people/{face.person_id}" if face.person_id else "/people"
        done = "pinned as a prototype" if pinned else "unpinned"
        return redirect(back_to(back, default), f"Face {done}.")

    @router.post("/people/faces/move")
    async def move_faces(to_person_id: PersonId, face_ids: Annotated[list[str], Form()] | None = None,
                         back: Back = "") -> RedirectResponse:
        if not face_ids:
            raise InvalidInput("tick the faces to move first")
        if len(face_ids) > MAX_MOVED:
            raise InvalidInput(f"at most {MAX_MOVED} faces can be moved at once")
        people = service()
        person = await people.person(to_person_id)
        for face_id in face_ids:
            await people.assign_face(face_id, person.id)
        return redirect(back_to(back, f"/people/{person.id}"),
                        f"Moved {faces_word(len(face_ids))} to {person.name}.")

    # -- people -----------------------------------------------------------------------------------

    @router.post("/people/{person_id:int}/rename")
    async def rename(person_id: int, name: Name, back: Back = "") -> RedirectResponse:
        person = await service().update_person(person_id, PersonEdit(name=name))
        return redirect(back_to(back, f"/people/{person.id}"), f"Renamed to {person.name}.")

    @router.post("/people/{person_id:int}/hidden")
    async def hide_person(person_id: int, hidden: Flag, back: Back = "") -> RedirectResponse:
        person = await service().update_person(person_id, PersonEdit(hidden=hidden))
        done = "is hidden from the people list" if hidden else "is shown again"
        return redirect(back_to(back, f"/people/{person.id}"), f"{person.name} {done}.")

    @router.post("/people/{person_id:int}/birth-date")
    async def birth_date(person_id: int, birth_date: Annotated[str, Form(max_length=40)] = "",
                         back: Back = "") -> RedirectResponse:
        person = await service().update_person(person_id, PersonEdit(birth_date=birth_date))
        done = f"set to {person.birth_date.isoformat()}" if person.birth_date else "cleared"
        return redirect(back_to(back, f"/people/{person.id}"), f"Birth date of {person.name} {done}.")

    @router.post("/people/{person_id:int}/merge")
    async def merge(person_id: int, source_id: PersonId, back: Back = "") -> RedirectResponse:
        people = service()
        source = await people.person(source_id)
        person = await people.merge_people(person_id, [source.id])
        return redirect(back_to(back, f"/people/{person.id}"), f"Merged {source.name} into {person.name}.")

    return router
