"""The shipped German data, loaded by `load_political_data de`: counts, known postcodes, the
lookup API, idempotence, members who left, malformed files. The data is loaded once for this
module (`german_data`); each test runs in its own rolled-back transaction."""

from __future__ import annotations

import csv
import io
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Q, Sum

from officials.models import Constituency, Delivery, Official, PostcodeArea
from officials.political_data import political_data_dir

DATA = political_data_dir(country="de")


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def _csv(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A copy of the shipped data directory a test may change."""
    target = tmp_path / "de"
    shutil.copytree(DATA, target)
    return target


def _drop_lines(path: Path, predicate: Any) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    dropped = [line for line in lines[1:] if predicate(line)]
    path.write_text("".join(line for line in lines if line not in dropped), encoding="utf-8")
    return dropped


def test_the_first_load_reports_what_it_added(german_data):
    assert "constituencies: 299 added" in german_data
    assert "postcodes: 8916 added" in german_data
    assert "officials: 634 added, 0 changed, 0 deactivated" in german_data


def test_it_has_the_299_wahlkreise_of_2025_in_the_16_laender(german_data, db):
    wahlkreise = Constituency.objects.filter(parliament="bundestag", term="2025")
    assert wahlkreise.count() == 299
    states = set(wahlkreise.values_list("state", flat=True))
    assert states == {row["name"] for row in _csv("laender.csv")}
    assert len(states) == 16
    assert "Baden-Württemberg" in states  # full German names


def test_every_postcode_shares_add_up_to_one_and_every_wahlkreis_is_reachable(german_data, db):
    areas = PostcodeArea.objects.filter(country="DE", constituency__term="2025")
    sums = list(areas.values("postcode").annotate(total=Sum("share")).values_list("postcode", "total"))
    assert len(sums) >= 8000
    off = [(postcode, total) for postcode, total in sums if abs(total - 1) > Decimal("0.01")]
    assert off == []
    # 706 postcodes lie in more than one Wahlkreis.
    assert areas.values("postcode").annotate(n=Count("id")).filter(n__gt=1).count() == 706
    reachable = set(areas.values_list("constituency__number", flat=True))
    assert reachable == set(range(1, 300))


def test_276_wahlkreise_have_one_direct_member_and_the_other_23_are_served(german_data, db):
    active = Official.objects.filter(parliament="bundestag", active=True)
    assert active.count() >= 600
    direct_counts = (
        Constituency.objects.filter(term="2025")
        .annotate(direct=Count("officials", filter=Q(officials__mandate="direct", officials__active=True)))
        .values_list("number", "direct")
    )
    with_one = {number for number, n in direct_counts if n == 1}
    assert len(with_one) == 276
    assert all(n <= 1 for _, n in direct_counts)
    documented = {int(row["number"]) for row in _csv("wahlkreise_ohne_direktmandat_2025.csv")}
    assert documented == set(range(1, 300)) - with_one
    assert len(documented) == 23
    for wahlkreis in Constituency.objects.filter(term="2025", number__in=documented):
        looking_after = active.filter(mandate="list", constituency=wahlkreis)
        of_the_land = active.filter(mandate="list", state=wahlkreis.state)
        # Its count reaches the list members who look after it, or else those of its Land.
        assert looking_after.exists() or of_the_land.exists(), wahlkreis


def test_imported_addresses_are_unverified_and_carry_an_office_contact(german_data, db):
    members = Official.objects.filter(external_id__startswith="bundestag:")
    assert not members.exclude(address_status=Official.AddressStatus.UNVERIFIED).exists()
    assert not members.filter(office_address="").exists()
    gysi = members.get(external_id="bundestag:167")
    assert (gysi.mandate, gysi.state, gysi.constituency.number) == ("direct", "Berlin", 83)
    assert gysi.salutation == "Guten Tag Dr. Gregor Gysi"


# Checked against the Bundeswahlleiterin's files: the Wahlkreis numbers and names in the
# shapefile's table (btw25_geometrie_wahlkreise_vg250_shp_geo.dbf), the Land in the OSM
# postcode/Gemeinde table (zuordnung_plz_ort.csv).
KNOWN_POSTCODES = [
    ("10117", "Berlin", 74, "Berlin-Mitte"),  # 75 in the 2021 numbering
    ("50667", "Nordrhein-Westfalen", 92, "Köln I"),  # 84 % Köln I, 16 % Köln II
    ("01067", "Sachsen", 158, "Dresden I"),
    ("24103", "Schleswig-Holstein", 5, "Kiel"),
    ("80331", "Bayern", 217, "München-Ost"),
    ("99084", "Thüringen", 192, "Erfurt – Weimar – Weimarer Land II"),
]


@pytest.mark.parametrize(("postcode", "state", "number", "name"), KNOWN_POSTCODES)
def test_the_lookup_maps_known_postcodes_to_their_land_and_wahlkreis(
    german_data, db, api_client, postcode, state, number, name
):
    response = api_client.get("/api/v1/regions/lookup/", {"country": "DE", "postcode": postcode})

    assert response.status_code == 200
    body = response.json()
    assert (body["postcode"], body["state"]) == (postcode, state)
    first = body["constituencies"][0]
    assert (first["parliament"], first["number"], first["name"], first["state"]) == (
        "bundestag",
        number,
        name,
        state,
    )
    assert "public" in response["Cache-Control"]
    assert "@" not in response.content.decode()  # no e-mail addresses, ever


def test_the_lookup_lists_the_direct_members_then_the_list_members_of_the_land(german_data, db, api_client):
    body = api_client.get("/api/v1/regions/lookup/", {"country": "DE", "postcode": "50667"}).json()

    shares = [c["share"] for c in body["constituencies"]]
    assert [c["number"] for c in body["constituencies"]] == [92, 93]
    assert abs(sum(shares) - 1) < 0.01
    roles = [o["role"] for o in body["officials"]]
    direct = [o for o in body["officials"] if o["role"] == "direct"]
    assert sorted(o["constituency_number"] for o in direct) == [92, 93]
    assert roles == sorted(roles)  # "direct" before "list"
    assert len(roles) > 10  # the list members of Nordrhein-Westfalen follow
    assert set(body["officials"][0]) == {"name", "party", "role", "constituency_number"}


@pytest.mark.parametrize("postcode", ["1011", "101170", "ABCDE", ""])
def test_a_malformed_postcode_is_a_400_naming_it(german_data, db, api_client, postcode):
    response = api_client.get("/api/v1/regions/lookup/", {"country": "DE", "postcode": postcode})

    assert response.status_code == 400
    assert "postcode" in response.json()["fields"]


def test_an_unknown_well_formed_postcode_is_a_404_and_a_bad_country_a_400(german_data, db, api_client):
    unknown = api_client.get("/api/v1/regions/lookup/", {"country": "DE", "postcode": "00000"})
    assert unknown.status_code == 404
    assert "postcode" in unknown.json()["fields"]

    bad_country = api_client.get("/api/v1/regions/lookup/", {"postcode": "10117", "country": "Deutschland"})
    assert bad_country.status_code == 400
    assert "country" in bad_country.json()["fields"]


def test_running_the_load_again_changes_nothing(german_data, db):
    before = list(Official.objects.order_by("pk").values_list("pk", "updated_at"))

    out = _run("load_political_data", "de")

    assert "constituencies: 0 added, 0 changed" in out
    assert "postcodes: 0 added, 0 changed, 0 removed" in out
    assert "officials: 0 added, 0 changed, 0 deactivated" in out
    assert "nothing changed" in out
    assert list(Official.objects.order_by("pk").values_list("pk", "updated_at")) == before


def test_a_member_removed_from_the_source_is_deactivated_and_keeps_their_deliveries(
    german_data, db, data_copy, petition
):
    gysi = Official.objects.get(external_id="bundestag:167")
    delivery = Delivery.objects.create(
        official=gysi,
        petition=petition,
        campaign=petition.campaign,
        trigger="milestone:10",
        totals={"total": 10},
    )
    dropped = _drop_lines(data_copy / "abgeordnete_wp21.csv", lambda line: line.startswith("167,"))
    assert len(dropped) == 1

    out = _run("load_political_data", "de", "--data-dir", str(data_copy))

    assert "officials: 0 added, 0 changed, 1 deactivated" in out
    gysi.refresh_from_db()
    assert gysi.active is False
    assert Delivery.objects.filter(pk=delivery.pk, official=gysi).exists()  # history kept


def test_a_verified_address_is_not_replaced_by_the_sources_guess(german_data, db):
    member = Official.objects.get(external_id="bundestag:167")
    member.email = "buero.gysi@bundestag.example.org"
    member.address_status = Official.AddressStatus.VERIFIED
    member.save(update_fields=["email", "address_status"])

    out = _run("load_political_data", "de")

    assert "1 kept verified address" in out
    member.refresh_from_db()
    assert (member.email, member.address_status) == ("buero.gysi@bundestag.example.org", "verified")


def test_a_malformed_file_loads_nothing_and_names_the_lines(german_data, db, data_copy):
    postcodes = data_copy / "postcodes_2025.csv"
    lines = postcodes.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = "DE,1067,bundestag,2025,158,1.0000\n"  # four digits
    lines[3] = "DE,01069,bundestag,2025,999,1.0000\n"  # no such Wahlkreis
    postcodes.write_text("".join(lines), encoding="utf-8")
    members = data_copy / "abgeordnete_wp21.csv"
    members.write_text(
        members.read_text(encoding="utf-8").replace("gregor.gysi.wk@bundestag.de", "gysi@"), encoding="utf-8"
    )
    before = (PostcodeArea.objects.count(), Official.objects.filter(active=True).count())

    with pytest.raises(CommandError) as error:
        _run("load_political_data", "de", "--data-dir", str(data_copy))

    message = str(error.value)
    assert "postcodes_2025.csv line 3: postcode '1067' is malformed" in message
    assert "postcodes_2025.csv line 4: unknown constituency '999'" in message
    assert "abgeordnete_wp21.csv line 2: email is not a valid address" in message
    assert (PostcodeArea.objects.count(), Official.objects.filter(active=True).count()) == before


def test_an_unknown_country_is_refused(db):
    with pytest.raises(CommandError, match="No political data"):
        _run("load_political_data", "xx")


def test_the_2021_sample_and_the_2025_data_are_never_joined_on_the_number(german_data, db, tmp_path):
    _run("import_constituencies", "--sample")  # the 2021 numbering: Berlin-Mitte is 75
    assert Constituency.objects.filter(parliament="bundestag", number=75).count() == 2
    officials = tmp_path / "officials.csv"
    officials.write_text("name,email,parliament,constituency_number\nA,a@example.org,bundestag,75\n")

    # Without a term, number 75 is ambiguous: an error, never a guess.
    with pytest.raises(CommandError, match="line 2: term is required"):
        _run("import_officials", str(officials))

    # The 2021 sample mapping replaces the 2025 one for DE instead of mixing with it.
    _run("import_postcodes", "--sample")
    terms = set(PostcodeArea.objects.filter(country="DE").values_list("constituency__term", flat=True))
    assert terms == {"2021"}


def test_the_demo_loads_the_real_data_and_mails_only_the_verified_desk(german_data, db):
    from officials.models import DeliveryPlan
    from officials.recipients import delivery_plan_recipient_counts
    from pages.services import campaign_demo_load

    campaign = campaign_demo_load()

    plan = DeliveryPlan.objects.filter(petition__campaign=campaign).first()
    assert plan is not None and plan.parliament == "bundestag"
    # 634 members with guessed addresses wait for verification; the fictitious desk is verified.
    assert delivery_plan_recipient_counts(plan=plan) == {"verified": 1, "unverified": 634}
    assert Constituency.objects.get(term="2025", number=74).name == "Berlin-Mitte"


def test_the_public_regions_add_the_wahlkreis_totals_and_the_attribution(
    german_data, db, petition, sign, api_client
):
    from petitions.counting import petition_counts_update

    for postcode in ["10117", "10117", "50667", "99999"]:
        sign(petition, postcode=postcode)
    petition_counts_update()

    response = api_client.get(f"/api/v1/petitions/{petition.slug}/regions/")

    body = response.json()
    assert body["constituencies"] == [
        {"parliament": "bundestag", "number": 74, "name": "Berlin-Mitte", "state": "Berlin", "count": 2},
        {
            "parliament": "bundestag",
            "number": 92,
            "name": "Köln I",
            "state": "Nordrhein-Westfalen",
            "count": 1,
        },
    ]
    assert body["unassigned"] == 1  # 99999 is well-formed but in no Wahlkreis
    assert "© Die Bundeswahlleiterin" in body["attribution"]
    assert "OpenStreetMap" in body["attribution"] and "Deutscher Bundestag" in body["attribution"]
    assert "public" in response["Cache-Control"]


def test_the_handover_report_names_the_sources_of_the_regional_data(german_data, db, petition, sign):
    from officials.reports import ReportOptions, handover_report_render
    from petitions.counting import petition_counts_update
    from tests.officials.test_report import pdf_text

    sign(petition, postcode="10117")
    petition_counts_update()

    text = " ".join(
        pdf_text(
            handover_report_render(petition=petition, options=ReportOptions(table="constituency"))
        ).split()
    )

    assert "74 Berlin-Mitte (Berlin)" in text
    assert "Quellen: Wahlkreise und Ergebnisse: © Die Bundeswahlleiterin" in text


def test_a_plan_for_every_direct_member_sends_each_their_own_wahlkreis_count_under_the_cap(
    german_data, db, petition, sign, make_plan, make_milestone
):
    from campaign.emails import email_render
    from campaign.models import OutgoingEmail
    from petitions.counting import petition_counts_update

    Official.objects.filter(external_id__startswith="bundestag:").update(address_status="verified")
    make_plan(petition, parliament="bundestag", direct_only=True, milestones=[3], hourly_cap=60)
    make_milestone(petition, 3)
    for postcode in ["10117", "10117", "50667"]:
        sign(petition, postcode=postcode)

    petition_counts_update()

    deliveries = Delivery.objects.filter(petition=petition).select_related("official")
    assert deliveries.count() == 276  # every Wahlkreis with a direct seat, nobody else
    assert {d.official.mandate for d in deliveries} == {"direct"}
    # The hourly cap holds across the whole parliament: 60 now, the rest later.
    assert deliveries.filter(status=Delivery.Status.QUEUED).count() == 60
    assert deliveries.filter(status=Delivery.Status.SCHEDULED).count() == 216
    mitte = deliveries.get(official__constituency__number=74)
    assert (mitte.totals["constituency"]["count"], mitte.totals["state"]) == (
        2,
        {"name": "Berlin", "count": 2, "share_percent": "66.7"},
    )
    # Each mail states the member's own Wahlkreis, with the greeting from the data.
    queued = deliveries.filter(status=Delivery.Status.QUEUED).first()
    body = email_render(OutgoingEmail.objects.get(pk=queued.outgoing_email_id)).body
    wahlkreis = queued.official.constituency
    assert body.startswith(f"Guten Tag {queued.official.name},")
    assert f"Ihr Wahlkreis {wahlkreis.number} {wahlkreis.name}: " in body


def test_a_plan_for_every_member_of_a_land_reaches_all_of_them_with_the_lands_count(
    german_data, db, petition, sign, make_plan, make_milestone
):
    from petitions.counting import petition_counts_update

    Official.objects.filter(external_id__startswith="bundestag:").update(address_status="verified")
    make_plan(petition, parliament="bundestag", state="Berlin", milestones=[1], hourly_cap=1000)
    make_milestone(petition, 1)
    sign(petition, postcode="10117")

    petition_counts_update()

    deliveries = Delivery.objects.filter(petition=petition).select_related("official")
    berlin = Official.objects.filter(parliament="bundestag", state="Berlin", active=True)
    assert deliveries.count() == berlin.count() > 12  # 12 Wahlkreise, plus the list members
    assert {d.totals["state"]["count"] for d in deliveries} == {1}
    assert {d.official.mandate for d in deliveries} == {"direct", "list"}


def test_the_public_map_shades_the_laender_by_their_count_and_names_its_sources(
    german_data, db, petition, sign, api_client
):
    from petitions.counting import petition_counts_update

    for postcode in ["10117", "10117", "80331"]:
        sign(petition, postcode=postcode)
    petition_counts_update()

    response = api_client.get(f"/api/v1/petitions/{petition.slug}/regions/map.svg")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    assert "public" in response["Cache-Control"]
    svg = response.content.decode()
    assert svg.count("data-region=") == 16
    assert svg.count('stroke="#ffffff" stroke-width="1.2"') == 1  # the Länder outlines
    assert '<g fill="#c41e3a" stroke="#c41e3a" stroke-width="1" data-region="Berlin">' in svg  # the most
    assert 'data-region="Bremen">' in svg and '<g fill="#ececec" stroke="#ececec"' in svg  # none there
    assert "Berlin: 2 Unterschriften" in svg and "Bayern: 1 Unterschriften" in svg
    assert "© Die Bundeswahlleiterin" in svg and "OpenStreetMap" in svg
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "").replace("https://www.govdata.de", "")

    by_wahlkreis = api_client.get(
        f"/api/v1/petitions/{petition.slug}/regions/map.svg", {"level": "constituency", "locale": "en"}
    ).content.decode()
    assert by_wahlkreis.count("data-region=") == 299
    assert "Wahlkreis 74: 2 signatures" in by_wahlkreis


def test_the_map_refuses_a_bad_level_with_a_400_naming_it(german_data, db, petition, api_client):
    response = api_client.get(f"/api/v1/petitions/{petition.slug}/regions/map.svg", {"level": "county"})

    assert response.status_code == 400
    assert "level" in response.json()["fields"]


def test_the_map_geometry_ships_under_one_megabyte():
    assert (DATA / "wahlkreise_2025_map.json").stat().st_size < 1_000_000


def test_the_handover_report_draws_the_laender_map(german_data, db, petition, sign):
    from officials.reports import ReportOptions, handover_report_render
    from tests.officials.test_report import pdf_text

    sign(petition, postcode="10117")
    from petitions.counting import petition_counts_update

    petition_counts_update()
    without_map = handover_report_render(petition=petition, options=ReportOptions(table="constituency"))

    with_map = handover_report_render(petition=petition, options=ReportOptions(table="state"))

    # The map's 299 shapes make the state report markedly larger than the table-only one.
    assert len(with_map) > len(without_map) + 20_000
    assert "Quellen: Wahlkreise und Ergebnisse" in " ".join(pdf_text(with_map).split())


def test_the_campaign_page_shows_the_laender_map(german_data, db, client):
    from pages.services import campaign_demo_load
    from petitions.models import Petition

    campaign = campaign_demo_load()
    petition = Petition.objects.filter(campaign=campaign).order_by("created_at").first()

    page = client.get("/").content.decode()

    src = f"/api/v1/petitions/{petition.slug}/regions/map.svg?locale=de"
    assert src in page
    image = client.get(src)
    assert image.status_code == 200 and image["Content-Type"].startswith("image/svg+xml")


def test_an_update_reports_what_changed_and_refreshes_an_unverified_guess(german_data, db, data_copy):
    wahlkreise = data_copy / "wahlkreise_2025.csv"
    wahlkreise.write_text(
        wahlkreise.read_text(encoding="utf-8").replace(",74,Berlin-Mitte,", ",74,Berlin-Mitte (neu),"),
        encoding="utf-8",
    )
    members = data_copy / "abgeordnete_wp21.csv"
    members.write_text(
        members.read_text(encoding="utf-8").replace(
            "gregor.gysi.wk@bundestag.de", "gregor.gysi@bundestag.de"
        ),
        encoding="utf-8",
    )

    out = _run("load_political_data", "de", "--data-dir", str(data_copy))

    assert "constituencies: 0 added, 1 changed" in out
    assert "officials: 0 added, 1 changed, 0 deactivated" in out
    assert Constituency.objects.get(term="2025", number=74).name == "Berlin-Mitte (neu)"
    gysi = Official.objects.get(external_id="bundestag:167")
    assert (gysi.email, gysi.address_status) == ("gregor.gysi@bundestag.de", "unverified")


def test_sources_md_states_the_checksum_of_every_shipped_file():
    import hashlib
    import re

    stated = dict(
        (name, digest)
        for digest, name in re.findall(
            r"^([0-9a-f]{64})  (\S+)$", (DATA / "SOURCES.md").read_text(), re.MULTILINE
        )
    )
    shipped = {path.name for path in DATA.iterdir() if path.name not in {"SOURCES.md", "manifest.json"}}
    assert set(stated) == shipped
    for name, digest in stated.items():
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest, name
