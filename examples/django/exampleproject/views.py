"""A tiny pets API: JSON in, JSON out, and a streamed CSV export."""

from __future__ import annotations

import json
from typing import Any, Iterator

from django.http import HttpRequest, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

PETS = [{"id": 1, "name": "Owlbert"}, {"id": 2, "name": "Bowsy"}]


@csrf_exempt
@require_http_methods(["GET", "POST"])
def pets(request: HttpRequest) -> Any:
    """GET lists the pets; POST adds the JSON pet in the body."""
    if request.method == "GET":
        return JsonResponse({"pets": PETS})
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("name"), str):
        return JsonResponse({"error": 'send {"name": ...}'}, status=400)
    pet = {"id": len(PETS) + 1, "name": body["name"]}
    PETS.append(pet)
    return JsonResponse(pet, status=201)


def export(request: HttpRequest) -> StreamingHttpResponse:
    """The pets as CSV, streamed row by row (the log still records the whole body)."""

    def rows() -> Iterator[str]:
        yield "id,name\n"
        for pet in PETS:
            yield f"{pet['id']},{pet['name']}\n"

    return StreamingHttpResponse(rows(), content_type="text/csv")
