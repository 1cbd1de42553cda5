"""The IOM Development Fund's published rules, default review criteria, starting exchange rates and the
review groups. All are editable in the admin afterwards; this only fills an empty installation."""

from datetime import date
from decimal import Decimal

from django.db import migrations

FUND_RULES = [
    # scope, min USD, max USD, max staff + office share (%)
    ("national", Decimal("50000"), Decimal("200000"), Decimal("30")),
    ("regional", Decimal("100000"), Decimal("300000"), Decimal("30")),
]

CRITERIA = [
    # code, French, English, weight
    ("relevance", "Pertinence", "Relevance", 2),
    ("feasibility", "Faisabilité", "Feasibility", 1),
    ("partnerships", "Partenariats et appropriation par le gouvernement", "Partnerships and government ownership", 2),
    ("sustainability", "Durabilité", "Sustainability", 1),
    ("budget", "Budget", "Budget", 1),
    ("monitoring", "Suivi et évaluation", "Monitoring and evaluation", 1),
]

# Starting points only (units per US dollar, like the UN operational rates of exchange): administrators
# add the current month's rate in the admin; the newest rate not after the day of the check applies.
RATES = [
    ("EUR", Decimal("0.966000"), date(2025, 1, 1)),
    ("XOF", Decimal("633.650000"), date(2025, 1, 1)),
]

GROUPS = ["Review managers", "Approvers", "Technical experts"]


def forwards(apps, schema_editor):
    FundRule = apps.get_model("reviews", "FundRule")
    ReviewCriterion = apps.get_model("reviews", "ReviewCriterion")
    ExchangeRate = apps.get_model("reviews", "ExchangeRate")
    Group = apps.get_model("auth", "Group")
    for scope, low, high, share in FUND_RULES:
        FundRule.objects.get_or_create(
            scope=scope, defaults={"min_usd": low, "max_usd": high, "max_staff_office_percent": share}
        )
    for order, (code, name_fr, name_en, weight) in enumerate(CRITERIA, start=1):
        ReviewCriterion.objects.get_or_create(
            code=code, defaults={"name_fr": name_fr, "name_en": name_en, "weight": weight, "order": order}
        )
    for currency, units, as_of in RATES:
        ExchangeRate.objects.get_or_create(
            currency=currency,
            as_of=as_of,
            defaults={"units_per_usd": units, "source": "Starting value — replace with the UN operational rate"},
        )
    for name in GROUPS:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("reviews", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
