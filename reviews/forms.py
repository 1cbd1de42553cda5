"""Forms of the review pages: they validate input; the services in services.py act."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.db.models import Exists, OuterRef
from django.forms import inlineformset_factory
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partners.models import User
from programmes.models import Programme

from .models import (
    APPROVERS_GROUP,
    EXPERTS_GROUP,
    REVIEW_MANAGERS_GROUP,
    BudgetLine,
    ProposalKind,
    Recommendation,
    ReviewCriterion,
    ReviewerProfile,
)


def iom_staff_in(group: str):
    return User.objects.iom_staff().filter(groups__name=group).distinct()


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.username


class SubmitForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind of proposal"), choices=ProposalKind.choices)
    review_manager = PersonChoiceField(label=_("Review manager"), queryset=User.objects.none())
    approver = PersonChoiceField(label=_("Approver"), queryset=User.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["review_manager"].queryset = iom_staff_in(REVIEW_MANAGERS_GROUP)
        self.fields["approver"].queryset = iom_staff_in(APPROVERS_GROUP)
        self.fields["review_manager"].initial = self.fields["review_manager"].queryset.first()
        self.fields["approver"].initial = self.fields["approver"].queryset.first()
        self.fields["kind"].widget = forms.HiddenInput()


class ResubmitForm(forms.Form):
    message = forms.CharField(
        label=_("What changed (optional)"), required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )


BudgetLineFormSet = inlineformset_factory(
    Programme,
    BudgetLine,
    fields=["category", "description", "amount"],
    extra=3,
    can_delete=True,
    widgets={
        "category": forms.Select(attrs={"class": "form-select"}),
        "description": forms.TextInput(attrs={"class": "form-control"}),
        "amount": forms.NumberInput(attrs={"class": "form-control", "step": "0.01", "min": "0"}),
    },
)


def experts_for(programme: Programme, *, exclude_ids: list[int]):
    """IOM technical experts, those of the programme's sectors first (flagged `suggested`)."""
    sector_ids = [programme.primary_sector_id, *programme.secondary_sectors.values_list("pk", flat=True)]
    of_sector = ReviewerProfile.objects.filter(user=OuterRef("pk"), is_available=True, sectors__in=sector_ids)
    return (
        iom_staff_in(EXPERTS_GROUP)
        .exclude(pk__in=[pk for pk in exclude_ids if pk])
        .annotate(suggested=Exists(of_sector))
        .prefetch_related("reviewer_profile__sectors")
        .order_by("-suggested", "last_name", "first_name", "username")
    )


class ExpertChoiceField(PersonChoiceField):
    def label_from_instance(self, obj) -> str:
        name = super().label_from_instance(obj)
        profile = getattr(obj, "reviewer_profile", None)
        sectors = ", ".join(s.code for s in profile.sectors.all()) if profile else ""
        label = f"{name} ({sectors})" if sectors else name
        return _("★ %(expert)s — suggested") % {"expert": label} if getattr(obj, "suggested", False) else label


class AssignForm(forms.Form):
    reviewer = ExpertChoiceField(
        label=_("Technical expert"),
        queryset=User.objects.none(),
        help_text=_("★ experts of the programme's sectors are suggested first."),
    )
    due_date = forms.DateField(label=_("Due date"), widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}))

    def __init__(self, *args, programme: Programme, exclude_ids: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reviewer"].queryset = experts_for(programme, exclude_ids=exclude_ids)
        self.fields["due_date"].initial = timezone.localdate() + timedelta(days=14)

    def clean_due_date(self):
        due = self.cleaned_data["due_date"]
        if due < timezone.localdate():
            raise forms.ValidationError(_("The due date cannot be in the past."))
        return due


class DeclarationForm(forms.Form):
    """Either the no-conflict declaration (ticked) or a conflict of interest (described)."""

    DECLARE, CONFLICT = "declare", "conflict"

    action = forms.ChoiceField(choices=[(DECLARE, DECLARE), (CONFLICT, CONFLICT)], widget=forms.HiddenInput)
    confirm = forms.BooleanField(
        label=_(
            "I declare that I have no personal, financial or professional interest in this proposal, its "
            "partners or its funding that could affect my impartiality."
        ),
        required=False,
    )
    reason = forms.CharField(
        label=_("Conflict of interest"),
        help_text=_("If you have a conflict of interest, describe it: you will not review this proposal."),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
    )

    def clean(self):
        data = super().clean()
        if data.get("action") == self.DECLARE and not data.get("confirm"):
            self.add_error("confirm", _("Tick the declaration to confirm it."))
        if data.get("action") == self.CONFLICT and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Describe the conflict of interest."))
        return data

    @property
    def statement(self) -> str:
        return str(self.fields["confirm"].label)


SCORE_CHOICES = [(n, str(n)) for n in range(1, 6)]


class ReviewForm(forms.Form):
    comments = forms.CharField(label=_("Comments"), widget=forms.Textarea(attrs={"rows": 6}), max_length=20000)
    recommendation = forms.ChoiceField(
        label=_("Recommendation"), choices=Recommendation.choices, widget=forms.RadioSelect
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.criteria = list(ReviewCriterion.objects.filter(is_active=True))
        scores = {}
        for criterion in self.criteria:
            scores[f"score_{criterion.pk}"] = forms.TypedChoiceField(
                label=criterion.name,
                help_text=criterion.description,
                choices=SCORE_CHOICES,
                coerce=int,
                widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
            )
        self.fields = {**scores, **self.fields}

    def score_fields(self):
        return [self[f"score_{c.pk}"] for c in self.criteria]

    @property
    def scores(self) -> dict[int, int]:
        return {c.pk: self.cleaned_data[f"score_{c.pk}"] for c in self.criteria}


class DecisionForm(forms.Form):
    APPROVE, REVISE, REJECT = "approve", "revise", "reject"

    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[(APPROVE, _("Approve")), (REVISE, _("Request a revision")), (REJECT, _("Reject"))],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
        help_text=_("Required for a revision request or a rejection; the focal point reads it."),
    )

    def __init__(self, *args, allowed: set[str] | None = None, **kwargs) -> None:
        """`allowed`: the decisions the approver may take now (from `proposal_actions`); None offers all."""
        super().__init__(*args, **kwargs)
        if allowed is not None:
            field = self.fields["decision"]
            field.choices = [(value, label) for value, label in field.choices if value in allowed]

    def clean(self):
        data = super().clean()
        if data.get("decision") in (self.REVISE, self.REJECT) and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Give the reason."))
        return data
