from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("regions", "0001_initial"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="office", name="office_unique_name"),
        migrations.RenameField(model_name="office", old_name="name", new_name="name_fr"),
        migrations.AlterField(
            model_name="office",
            name="name_fr",
            field=models.CharField(max_length=150, verbose_name="name (French)"),
        ),
        migrations.AddField(
            model_name="office",
            name="name_en",
            field=models.CharField(blank=True, max_length=150, verbose_name="name (English)"),
        ),
        migrations.AlterModelOptions(
            name="office",
            options={"ordering": ["kind", "name_fr"], "verbose_name": "IOM office", "verbose_name_plural": "IOM offices"},
        ),
        migrations.AddConstraint(
            model_name="office",
            constraint=models.UniqueConstraint(fields=("name_fr",), name="office_unique_name"),
        ),
    ]
