"""The exchange-rate table moves to the programmes app (money is converted on programme pages and reports,
below the reviews layer): the rows stay, the table is renamed, programmes 0009 takes over the model."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0005_fund_rule_endorsing_governments"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.AlterModelTable("ExchangeRate", "programmes_exchangerate")],
            state_operations=[migrations.DeleteModel(name="ExchangeRate")],
        ),
    ]
