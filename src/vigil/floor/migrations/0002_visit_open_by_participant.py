from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("floor", "0001_initial")]

    operations = [
        migrations.AddIndex(
            model_name="visit",
            index=models.Index(
                condition=models.Q(("status", "ended"), _negated=True),
                fields=["participant"],
                name="visit_open_by_participant",
            ),
        ),
    ]
