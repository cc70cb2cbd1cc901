from django.db import migrations

GROUP = "Pipeline operators"


def create_operators_group(apps, schema_editor):
    # Permissions are normally created after all migrations ran; create this one now so
    # that the group can hold it from the first migrate on.
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(
        app_label="enrichment", model="enrichmentrun"
    )
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename="operate",
        defaults={"name": "Can operate the enrichment pipeline"},
    )
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.add(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("enrichment", "0003_drop_redundant_fk_index"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="enrichmentrun",
            options={
                "ordering": ["-started_at", "-id"],
                "permissions": [("operate", "Can operate the enrichment pipeline")],
            },
        ),
        migrations.RunPython(create_operators_group, migrations.RunPython.noop),
    ]
