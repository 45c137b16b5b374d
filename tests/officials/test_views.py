from __future__ import annotations

from petitions.counting import petition_counts_update
from petitions.models import Petition


def test_it_serves_the_totals_by_state_publicly(regions, petition, sign, api_client):
    for postcode in ["10115", "10119", "20095", "99999"]:
        sign(petition, postcode=postcode)
    sign(petition, postcode="8001", country="CH")
    petition_counts_update()

    response = api_client.get(f"/api/v1/petitions/{petition.slug}/regions/")

    assert response.status_code == 200
    body = response.json()
    assert body["states"] == [{"state": "Berlin", "count": 2}, {"state": "Hamburg", "count": 1}]
    assert body["unassigned"] == 1
    assert body["countries"] == [{"country": "CH", "count": 1}]
    assert [(c["number"], c["count"]) for c in body["constituencies"]] == [(75, 2), (18, 1)]
    assert body["attribution"] == ""  # the 2021 sample is not shipped data with a licence
    assert body["updated_at"]
    assert "stale-while-revalidate" in response["Cache-Control"]


def test_a_draft_or_unknown_petition_has_no_regions(petition, api_client):
    Petition.objects.filter(pk=petition.pk).update(status=Petition.Status.DRAFT)

    assert api_client.get(f"/api/v1/petitions/{petition.slug}/regions/").status_code == 404
    response = api_client.get("/api/v1/petitions/unknown/regions/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_staff_see_the_totals_by_constituency(regions, petition, sign, staff_client, api_client):
    for postcode in ["10115", "10117", "81675"]:
        sign(petition, postcode=postcode)
    petition_counts_update()
    url = f"/api/v1/staff/petitions/{petition.slug}/constituencies/"

    response = staff_client.get(url)

    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["online"]) == (3, 3)
    assert [(c["number"], c["name"], c["count"]) for c in body["constituencies"]] == [
        (75, "Berlin-Mitte", 2),
        (218, "München-Ost", 1),
    ]
    assert api_client.get(url).status_code in {401, 403}
