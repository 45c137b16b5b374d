"""The staff roles: five permissions on the core model and one group per role (see
campaign/permissions.py and docs/staff.md). Data frozen here, as a migration must."""

from django.db import migrations

PERMISSIONS = {
    "view_reports": "View counts, charts, regional totals and the delivery log (no personal data)",
    "organise": "Manage petitions, milestones, delivery plans, officials and supporter updates",
    "export_personal_data": "Download signer lists with personal data",
    "manage_finance": "Manage donations, refunds, receipts and mandates",
    "privacy_officer": "Handle erasure and access requests; read the audit trail",
}

ROLES = {
    "viewer": ["view_reports"],
    "organiser": ["view_reports", "organise"],
    "data export": ["export_personal_data"],
    "finance": ["manage_finance"],
    "privacy officer": ["privacy_officer"],
}


def roles_create(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    # Permissions are normally created after all migrations (post_migrate); create them now.
    content_type, _ = ContentType.objects.get_or_create(app_label="campaign", model="campaign")
    permissions = {
        codename: Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )[0]
        for codename, name in PERMISSIONS.items()
    }
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*(permissions[codename] for codename in codenames))


def roles_delete(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLES)).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("campaign", "0005_organisation"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="campaign",
            options={
                "ordering": ["-created_at"],
                "permissions": [
                    ("view_reports", "View counts, charts, regional totals and the delivery log (no personal data)"),
                    ("organise", "Manage petitions, milestones, delivery plans, officials and supporter updates"),
                    ("export_personal_data", "Download signer lists with personal data"),
                    ("manage_finance", "Manage donations, refunds, receipts and mandates"),
                    ("privacy_officer", "Handle erasure and access requests; read the audit trail"),
                ],
            },
        ),
        migrations.RunPython(roles_create, roles_delete),
    ]
