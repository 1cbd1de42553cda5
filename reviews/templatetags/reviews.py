"""Template tags of the review app: the review panel of a programme page."""

from django import template

from partners.models import is_iom_staff
from programmes.models import Status

from ..models import Proposal, roles_of
from ..services import Action, proposal_actions, proposal_is_locked

register = template.Library()


@register.simple_tag
def review_panel(programme, user) -> dict | None:
    """What the review panel shows this user on this programme's page; None when it shows nothing."""
    if not is_iom_staff(user):
        return None
    proposal = Proposal.objects.visible_to(user).filter(programme=programme).select_related("programme").first()
    if proposal is not None:
        return {
            "proposal": proposal,
            "roles": roles_of(proposal, user),
            "actions": proposal_actions(programme, user, proposal=proposal),
            "locked": proposal_is_locked(programme),
        }
    if programme.status != Status.PIPELINE or Proposal.objects.filter(programme=programme).exists():
        return None
    return {"proposal": None} if proposal_actions(programme, user)[Action.SUBMIT] else None


@register.filter
def last_revision_request(events):
    """The latest "revision requested" event of a proposal's timeline (its reason is shown beside "Resubmit")."""
    requests = [event for event in events if event.kind == "revision_requested"]
    return requests[-1] if requests else None
