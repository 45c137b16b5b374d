from __future__ import annotations

import re

from rest_framework import serializers

from campaign.api import StrictInputSerializer


class StateTotalSerializer(serializers.Serializer):
    state = serializers.CharField()
    count = serializers.IntegerField()


class CountryTotalSerializer(serializers.Serializer):
    country = serializers.CharField(help_text="ISO 3166-1 alpha-2")
    count = serializers.IntegerField()


class PublicConstituencyTotalSerializer(serializers.Serializer):
    parliament = serializers.CharField()
    number = serializers.IntegerField()
    name = serializers.CharField()
    state = serializers.CharField()
    count = serializers.IntegerField()


class PetitionRegionsOutputSerializer(serializers.Serializer):
    states = StateTotalSerializer(many=True)
    constituencies = PublicConstituencyTotalSerializer(
        many=True, help_text="Counted signatures per constituency (those with any), largest first."
    )
    attribution = serializers.CharField(help_text="The sources of the regional data, to show with it.")
    unassigned = serializers.IntegerField(help_text="Signatures whose postcode the mapping does not know.")
    countries = CountryTotalSerializer(many=True, help_text="Signatures from countries without a mapping.")
    updated_at = serializers.DateTimeField(allow_null=True)


class ConstituencyTotalSerializer(serializers.Serializer):
    constituency_id = serializers.IntegerField()
    parliament = serializers.CharField()
    number = serializers.IntegerField()
    name = serializers.CharField()
    state = serializers.CharField()
    count = serializers.IntegerField()


class PetitionConstituenciesOutputSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    online = serializers.IntegerField()
    constituencies = ConstituencyTotalSerializer(many=True)
    unassigned = serializers.IntegerField()
    countries = CountryTotalSerializer(many=True)


class PetitionReportInputSerializer(StrictInputSerializer):
    constituency = serializers.IntegerField(required=False, min_value=1, help_text="A constituency id.")
    names = serializers.BooleanField(
        default=False, help_text="Add the signers who agreed to have their name passed on."
    )
    table = serializers.ChoiceField(choices=["state", "constituency"], default="state")
    locale = serializers.ChoiceField(choices=["de", "en"], default="de")


# Postcode formats of the countries with a mapping; others: 1-16 letters and digits.
POSTCODE_PATTERNS = {"DE": (r"^[0-9]{5}$", "five digits")}


class RegionLookupInputSerializer(StrictInputSerializer):
    country = serializers.RegexField(r"^[A-Za-z]{2}$", help_text="ISO 3166-1 alpha-2, e.g. DE")
    # The generic format; a country with a mapping has a narrower one (POSTCODE_PATTERNS).
    postcode = serializers.RegexField(r"^[0-9A-Za-z-]{1,16}$", max_length=20)

    def validate(self, attrs: dict) -> dict:
        country = attrs["country"].upper()
        postcode = "".join(attrs["postcode"].split()).upper()
        pattern, described = POSTCODE_PATTERNS.get(
            country, (r"^[0-9A-Z-]{1,16}$", "1 to 16 letters and digits")
        )
        if not re.match(pattern, postcode):
            raise serializers.ValidationError({"postcode": [f"A postcode of {country} has {described}."]})
        return {"country": country, "postcode": postcode}


class LookupConstituencySerializer(serializers.Serializer):
    parliament = serializers.CharField()
    number = serializers.IntegerField()
    name = serializers.CharField()
    state = serializers.CharField()
    share = serializers.FloatField(help_text="Share of the postcode's area in this constituency (0..1).")


class LookupOfficialSerializer(serializers.Serializer):
    name = serializers.CharField()
    party = serializers.CharField()
    role = serializers.CharField(
        help_text="direct: elected in that constituency; list: a list member of the state."
    )
    constituency_number = serializers.IntegerField(allow_null=True)


class RegionLookupOutputSerializer(serializers.Serializer):
    postcode = serializers.CharField()
    state = serializers.CharField()
    constituencies = LookupConstituencySerializer(many=True)
    officials = LookupOfficialSerializer(many=True)


class PetitionRegionsMapInputSerializer(StrictInputSerializer):
    level = serializers.ChoiceField(choices=["state", "constituency"], default="state")
    locale = serializers.ChoiceField(choices=["de", "en"], default="de")
