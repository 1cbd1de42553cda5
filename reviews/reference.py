"""Starting configuration of the review workflow: the IDF's published rules, criteria, rates and groups.

Loaded by migration 0002 on a fresh installation and by the demo seed; idempotent (never overwrites what
an administrator changed in the admin).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

# IDF rule: a regional project is endorsed by at least two Member States among its recipient countries.
ENDORSING_GOVERNMENTS = {"regional": 2, "multi_regional": 2, "global": 2}
FUND_RULES = [
    # scope, min USD, max USD, max staff + office share (%) — IOM Development Fund, published ranges
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

# Starting points only, in units per US dollar like the UN operational rates of exchange: administrators
# add each new rate in the admin; the newest rate not after the day of the check applies.
RATES = [
    ("EUR", Decimal("0.966000"), date(2025, 1, 1)),
    ("XOF", Decimal("633.650000"), date(2025, 1, 1)),
]

GROUPS = ["Review managers", "Approvers", "Technical experts"]

# Besides reading programmes, partners and places like every IOM role, review managers read the review
# configuration and keep the experts' sectors up to date. Who reviews what is decided per proposal,
# not by permissions: the groups only say who may be chosen as manager, approver or expert.
EXTRA_PERMISSIONS = {
    "Review managers": [
        "view_fundrule",
        "view_reviewcriterion",
        "view_exchangerate",
        "view_reviewerprofile",
        "add_reviewerprofile",
        "change_reviewerprofile",
    ],
    "Approvers": ["view_fundrule", "view_reviewcriterion", "view_exchangerate"],
    "Technical experts": [],
}


def ensure_review_groups(apps=None) -> dict:
    """The three review groups with their permissions; idempotent. Migrations pass their `apps`."""
    from django.apps import apps as global_apps

    from programmes.roles import grant, read_permissions

    apps = apps or global_apps
    group, permission = apps.get_model("auth", "Group"), apps.get_model("auth", "Permission")
    read = read_permissions(permission)
    return {
        name: grant(
            group,
            name,
            [
                *read,
                *permission.objects.filter(content_type__app_label="reviews", codename__in=EXTRA_PERMISSIONS[name]),
            ],
        )
        for name in GROUPS
    }


def load_review_reference(fund_rule=None, criterion=None, rate=None, group=None) -> None:
    """Create what is missing. The migration passes its historical models; other callers pass nothing."""
    in_migration = fund_rule is not None
    if not in_migration:
        from django.contrib.auth.models import Group

        from .models import ExchangeRate, FundRule, ReviewCriterion

        fund_rule, criterion, rate, group = FundRule, ReviewCriterion, ExchangeRate, Group
    has_endorsements = any(f.name == "min_endorsing_governments" for f in fund_rule._meta.fields)
    for scope, low, high, share in FUND_RULES:
        defaults = {"min_usd": low, "max_usd": high, "max_staff_office_percent": share}
        if has_endorsements:  # not yet in the migration that first loads the rules
            defaults["min_endorsing_governments"] = ENDORSING_GOVERNMENTS.get(scope, 0)
        fund_rule.objects.get_or_create(scope=scope, defaults=defaults)
    for order, (code, name_fr, name_en, weight) in enumerate(CRITERIA, start=1):
        criterion.objects.get_or_create(
            code=code, defaults={"name_fr": name_fr, "name_en": name_en, "weight": weight, "order": order}
        )
    for currency, units, as_of in RATES:
        rate.objects.get_or_create(
            currency=currency,
            as_of=as_of,
            defaults={"units_per_usd": units, "source": "Starting value — replace with the UN operational rate"},
        )
    for name in GROUPS:
        group.objects.get_or_create(name=name)
    if not in_migration:  # permissions exist only once every migration has run
        ensure_review_groups()
