from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("campaign", "0004_campaign_accent_color"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="campaign",
            options={
                "ordering": ["-created_at"],
                "permissions": [
                    ("privacy_officer", "Can erase people and answer their privacy requests"),
                    ("organise", "Can write and send supporter updates"),
                ],
            },
        ),
    ]
