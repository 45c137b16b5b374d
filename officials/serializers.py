from __future__ import annotations

from rest_framework import serializers

from campaign.api import StrictInputSerializer


class StateTotalSerializer(serializers.Serializer):
    state = serializers.CharField()
    count = serializers.IntegerField()


class CountryTotalSerializer(serializers.Serializer):
    country = serializers.CharField(help_text="ISO 3166-1 alpha-2")
    count = serializers.IntegerField()


class PetitionRegionsOutputSerializer(serializers.Serializer):
    states = StateTotalSerializer(many=True)
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
