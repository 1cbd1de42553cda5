"""The IOM Development Fund's reporting calendar, shipped as the example rule set (editable in the admin).

Results framework and workplan due in the first month; interim narrative and financial reports every six
months, due within six weeks of the period's end; the final report within three months of the end; an
extension request at least a month before the end. Loaded by `load_reference_data` and by migration 0002
(when the Fund's organisation exists); never overwrites a rule set an administrator already has.
"""

from __future__ import annotations

from django.apps import apps as global_apps

IDF_ORGANISATION_CODE = "iom-idf"  # programmes.models.IDF_ORGANISATION_CODE (a migration cannot import models)
IDF_RULE_SET = ("Calendrier du Fonds de l'OIM pour le développement", "IOM Development Fund calendar")
IDF_RULES = [
    # kind, anchor, period (months), offset (months), offset (days), responsible, fulfilled by
    ("results_framework", "start", None, 1, 0, "focal_point", "document"),
    # The implementing partner reports through its results report (partners do not upload documents).
    ("narrative_report", "period_end", 6, 0, 42, "partner", "results_report"),
    ("financial_report", "period_end", 6, 0, 42, "focal_point", "document"),
    ("final_report", "end", None, 3, 0, "focal_point", "document"),
    ("extension_request", "end", None, -1, 0, "focal_point", "document"),
]


def ensure_idf_rule_set(apps=global_apps):
    """The Fund's rule set, created once; None when the Fund's organisation is not loaded yet."""
    organisation = apps.get_model("partners", "Organisation").objects.filter(code=IDF_ORGANISATION_CODE).first()
    if organisation is None:
        return None
    RuleSet, Rule = apps.get_model("obligations", "ObligationRuleSet"), apps.get_model("obligations", "ObligationRule")
    existing = RuleSet.objects.filter(funder=organisation).first()
    if existing is not None:
        return existing
    rule_set = RuleSet.objects.create(name_fr=IDF_RULE_SET[0], name_en=IDF_RULE_SET[1], funder=organisation)
    for order, (kind, anchor, period, months, days, responsible, evidence) in enumerate(IDF_RULES):
        Rule.objects.create(
            rule_set=rule_set,
            kind=kind,
            anchor=anchor,
            period_months=period,
            offset_months=months,
            offset_days=days,
            evidence=evidence,
            responsible=responsible,
            order=order,
        )
    return rule_set


def load_obligation_rules(sender=None, **kwargs) -> dict:
    """Receiver of programmes.reference.reference_data_loaded."""
    from programmes.reference import SyncResult

    before = global_apps.get_model("obligations", "ObligationRuleSet").objects.count()
    ensure_idf_rule_set()
    after = global_apps.get_model("obligations", "ObligationRuleSet").objects.count()
    return {"obligation rules": SyncResult(created=after - before, unchanged=before)}
