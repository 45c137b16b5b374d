from __future__ import annotations

from officials.models import RegionTotal
from officials.regions import region_totals_apply, region_totals_recount
from officials.selectors import constituency_totals_get, region_totals_by_state
from petitions.counting import petition_counts_recount, petition_counts_update
from petitions.models import Signature


def _totals(petition) -> dict[str, int]:
    return dict(RegionTotal.objects.filter(petition=petition, count__gt=0).values_list("bucket", "count"))


def test_signatures_land_in_the_right_buckets_in_the_counter_pass(regions, petition, sign):
    sign(petition, postcode="10115")  # Berlin-Mitte
    sign(petition, postcode="101 17")  # Berlin-Mitte, typed with a space
    sign(petition, postcode="10119")  # spans Mitte (62 %) and Pankow (38 %): the larger share wins
    sign(petition, postcode="80331")  # München-West/Mitte
    sign(petition, postcode="99999")  # a German postcode the mapping does not know
    sign(petition, postcode="1010", country="AT")  # abroad
    sign(petition, postcode="10405", confirmed=False)  # pending: not counted
    sign(petition, postcode="10405", is_flagged=True)  # flagged: never counted

    petition_counts_update()

    mitte, munich = regions[75], regions[220]
    assert _totals(petition) == {f"c:{mitte.pk}": 3, f"c:{munich.pk}": 1, "u:DE": 1, "f:AT": 1}
    by_state = region_totals_by_state(petition=petition)
    assert by_state["states"] == [{"state": "Berlin", "count": 3}, {"state": "Bayern", "count": 1}]
    assert by_state["unassigned"] == 1
    assert by_state["countries"] == [{"country": "AT", "count": 1}]
    assert [(row["number"], row["count"]) for row in constituency_totals_get(petition=petition)] == [
        (75, 3),
        (220, 1),
    ]
    petition.refresh_from_db()
    # The regions add up to the petition's online count.
    assert sum(_totals(petition).values()) == petition.signature_count == 6


def test_a_withdrawn_or_flagged_signature_leaves_its_region_in_the_next_pass(regions, petition, sign):
    first = sign(petition, postcode="10405")
    second = sign(petition, postcode="10405")
    petition_counts_update()
    assert _totals(petition) == {f"c:{regions[76].pk}": 2}

    Signature.objects.filter(pk=first.pk).update(status=Signature.Status.WITHDRAWN)
    Signature.objects.filter(pk=second.pk).update(is_flagged=True)
    petition_counts_update()

    assert _totals(petition) == {}


def test_the_batch_pass_and_the_recount_agree(regions, petition, make_petition, sign):
    other = make_petition()
    for postcode in ["10115", "10119", "10119", "20095", "22765", "00000", "80939"]:
        sign(petition, postcode=postcode)
    sign(other, postcode="8001", country="CH")
    sign(other, postcode="81675")
    petition_counts_update()
    withdrawn = sign(petition, postcode="12043")
    petition_counts_update()
    Signature.objects.filter(pk=withdrawn.pk).update(status=Signature.Status.WITHDRAWN)
    petition_counts_update()
    from_passes = {p.pk: _totals(p) for p in (petition, other)}

    result = region_totals_recount()

    assert result["corrected"] == 0
    assert {p.pk: _totals(p) for p in (petition, other)} == from_passes


def test_the_nightly_recount_heals_drift(regions, petition, sign):
    sign(petition, postcode="10115")
    sign(petition, postcode="20095")
    petition_counts_update()
    expected = _totals(petition)
    # Drift: a lost update and a bucket that should not exist.
    RegionTotal.objects.filter(petition=petition).update(count=7)
    region_totals_apply(
        changes=[{"petition_id": petition.pk, "postcode": "81369", "country": "DE", "delta": 2}]
    )

    petition_counts_recount()

    assert _totals(petition) == expected


def test_a_new_mapping_is_applied_by_the_recount(regions, petition, sign):
    sign(petition, postcode="99999")
    petition_counts_update()
    assert _totals(petition) == {"u:DE": 1}
    from officials.models import PostcodeArea

    PostcodeArea.objects.create(country="DE", postcode="99999", constituency=regions[18], share=1)
    region_totals_recount()

    assert _totals(petition) == {f"c:{regions[18].pk}": 1}


def test_one_batch_may_hold_the_same_region_in_several_spellings_and_signs(regions, petition):
    changes = [
        {"petition_id": petition.pk, "postcode": "10115", "country": "DE", "delta": 1},
        {"petition_id": petition.pk, "postcode": "101 15", "country": "de", "delta": 1},
        {"petition_id": petition.pk, "postcode": "10117", "country": "DE", "delta": 1},
        {"petition_id": petition.pk, "postcode": "10115", "country": "DE", "delta": -1},
        (petition.pk, "1010", "AT", 1),  # the pass's row form is accepted too
    ]

    assert region_totals_apply(changes=changes) == 2

    assert _totals(petition) == {f"c:{regions[75].pk}": 2, "f:AT": 1}


def test_the_recount_command_re_attributes_after_a_new_mapping(regions, petition, sign):
    import io

    from django.core.management import call_command

    from officials.models import PostcodeArea

    sign(petition, postcode="99999")
    petition_counts_update()
    PostcodeArea.objects.create(country="DE", postcode="99999", constituency=regions[21], share=1)
    out = io.StringIO()

    call_command("recount_regions", stdout=out)

    assert "recount done" in out.getvalue()
    assert _totals(petition) == {f"c:{regions[21].pk}": 1}
