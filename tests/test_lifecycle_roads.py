"""Two roads through the lifecycle and the status rules, tried through every door (page, API, admin)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.html import escape

from partners.models import OrganisationCategory
from programmes.models import (
    ApprovalRoad,
    Participation,
    Programme,
    ProgrammeAgreement,
    ProgrammeStatusChange,
    Role,
    Scope,
    Status,
)
from programmes.services import TransitionNotAllowed, programme_change_status, programme_record_agreement

from .api_support import token_client
from .conftest import make_organisation, make_programme
from .lifecycle_support import add_agreement_document, add_endorsement, fund_by_idf, record_basis

TODAY = timezone.localdate


def donor_funded(status: str = Status.PIPELINE, *partners, scope: str = Scope.NATIONAL, **fields) -> Programme:
    """A programme a donor funds under an agreement (national: the agreement road)."""
    programme = make_programme(*partners, status=status, scope=scope, **fields)
    donor = make_organisation(f"donor-{programme.pk}", category=OrganisationCategory.DONOR)
    Participation.objects.create(
        programme=programme, organisation=donor, role=Role.FUNDING, contribution=Decimal("80000")
    )
    return programme


# --- The one rule deciding the road --------------------------------------------------------------


def test_a_donor_funded_national_programme_takes_the_agreement_road(reference):
    programme = donor_funded()
    assert programme.approval_road == ApprovalRoad.AGREEMENT and not programme.needs_department_review


def test_an_idf_funded_programme_goes_through_the_department_review(reference):
    programme = fund_by_idf(donor_funded())
    assert programme.approval_road == ApprovalRoad.DEPARTMENT_REVIEW


@pytest.mark.parametrize("scope", [Scope.MULTI_REGIONAL, Scope.GLOBAL])
def test_multi_regional_and_global_programmes_go_through_the_department_review_whoever_funds_them(reference, scope):
    programme = donor_funded(scope=scope)
    assert programme.needs_department_review


# --- The recorded basis of the agreement road ------------------------------------------------------


def test_without_a_basis_approval_is_not_offered_and_the_page_says_what_is_missing(client, staff):
    programme = donor_funded()
    assert programme.manual_transitions() == (Status.CANCELLED,)
    with translation.override("en"):
        step = next(s for s in programme.status_steps() if s.status == Status.APPROVED)
    assert not step.available and "signed agreement" in step.why_not and "endorsement letter" in step.why_not

    client.force_login(staff)
    page = client.get(f"/en/programmes/{programme.code}/status/").content.decode()
    assert 'value="approved"' not in page
    assert "“Approved” is not available" in page and "endorsement letter" in page


def test_an_agreement_alone_is_not_enough_the_government_endorsement_is_needed(reference, staff):
    programme = donor_funded()
    programme_record_agreement(
        programme=programme,
        user=staff,
        reference="EU-1",
        signed_on=date(2025, 1, 2),
        document=add_agreement_document(programme),
    )
    with translation.override("en"):
        [missing] = programme.missing_approval_basis()
    assert "endorsement letter" in missing
    assert Status.APPROVED not in programme.manual_transitions()


def test_a_letter_from_an_organisation_that_is_not_an_endorsing_authority_does_not_count(reference, staff):
    programme = donor_funded()
    record_basis(programme, staff)
    Participation.objects.filter(programme=programme, role=Role.ENDORSING_AUTHORITY).update(
        role=Role.BENEFICIARY_INSTITUTION
    )
    assert programme.endorsement_letter() is None
    assert Status.APPROVED not in programme.manual_transitions()


def test_a_donor_funded_programme_goes_from_pipeline_to_approved_to_active_on_its_basis(client, staff):
    programme = donor_funded()
    add_endorsement(programme)
    document = add_agreement_document(programme)
    client.force_login(staff)

    recorded = client.post(
        f"/fr/programmes/{programme.code}/agreement/",
        {"reference": "EU-2025-0042", "signed_on": "2025-01-15", "document": document.pk},
    )
    assert recorded.status_code == 302
    assert programme.manual_transitions() == (Status.APPROVED, Status.CANCELLED)

    assert client.post(f"/fr/programmes/{programme.code}/status/", {"to_status": "approved"}).status_code == 302
    assert client.post(f"/fr/programmes/{programme.code}/status/", {"to_status": "active"}).status_code == 302

    programme.refresh_from_db()
    assert programme.status == Status.ACTIVE and programme.actual_start == TODAY()
    assert list(programme.status_changes.order_by("pk").values_list("to_status", flat=True)) == [
        Status.APPROVED,
        Status.ACTIVE,
    ]
    assert programme.agreement.reference == "EU-2025-0042" and programme.agreement.recorded_by == staff


def test_an_agreement_signed_in_the_future_is_refused_with_a_message_and_nothing_is_recorded(client, staff):
    programme = donor_funded()
    document = add_agreement_document(programme)
    signed_on = (TODAY() + timedelta(days=40)).isoformat()
    client.force_login(staff)

    response = client.post(
        f"/en/programmes/{programme.code}/agreement/",
        {"reference": "EU-1", "signed_on": signed_on, "document": document.pk},
    )

    assert response.status_code == 400
    assert "The agreement cannot be signed in the future." in response.content.decode()
    assert not ProgrammeAgreement.objects.exists()


def test_the_agreement_form_offers_only_the_programme_s_agreement_documents(client, staff):
    programme = donor_funded()
    letter = add_endorsement(programme)
    client.force_login(staff)
    response = client.post(
        f"/en/programmes/{programme.code}/agreement/",
        {"reference": "EU-1", "signed_on": "2025-01-15", "document": letter.pk},
    )
    assert response.status_code == 400 and not ProgrammeAgreement.objects.exists()


def test_the_agreement_service_refuses_a_document_of_another_category(reference, staff):
    programme = donor_funded()
    letter = add_endorsement(programme)
    with pytest.raises(ValidationError) as refused:
        programme_record_agreement(
            programme=programme, user=staff, reference="EU-1", signed_on=date(2025, 1, 2), document=letter
        )
    assert "document" in refused.value.message_dict
    assert not ProgrammeAgreement.objects.exists()


# --- The programme page shows the road and the basis -----------------------------------------------


def test_the_programme_page_shows_the_road_to_everyone_and_the_basis_to_iom_staff(
    client, staff, partner_a, partner_b, org_a
):
    programme = donor_funded(Status.PIPELINE, org_a)
    record_basis(programme, staff)
    url = f"/en/programmes/{programme.code}/"

    client.force_login(staff)
    page = client.get(url).content.decode()
    assert 'data-road="agreement"' in page and "EU-2025-0042" in page and 'id="basis-endorsement"' in page

    client.force_login(partner_a)
    page = client.get(url).content.decode()
    assert 'data-road="agreement"' in page and "EU-2025-0042" not in page

    client.force_login(partner_b)
    assert client.get(url).status_code == 404


def test_the_programme_page_of_an_idf_programme_shows_the_department_review(client, staff):
    programme = fund_by_idf(donor_funded())
    client.force_login(staff)
    page = client.get(f"/en/programmes/{programme.code}/").content.decode()
    assert 'data-road="department_review"' in page


# --- Status rules in the service -------------------------------------------------------------------


def test_completing_records_today_as_actual_end_when_none_is_recorded(reference, staff):
    programme = make_programme(status=Status.ACTIVE, actual_start=date(2025, 1, 1))
    programme_change_status(programme=programme, to_status=Status.COMPLETED, user=staff, reason="Fin des activités")
    assert programme.status == Status.COMPLETED and programme.actual_end == TODAY()


def test_completing_with_a_recorded_actual_end_in_the_future_is_refused_unless_the_real_end_is_given(reference, staff):
    programme = make_programme(status=Status.ACTIVE, actual_start=date(2025, 1, 1), actual_end=date(2028, 6, 30))
    with pytest.raises(TransitionNotAllowed) as refused:
        programme_change_status(programme=programme, to_status=Status.COMPLETED, user=staff, reason="Fin")
    assert "actual_end" in refused.value.message_dict
    programme.refresh_from_db()
    assert programme.status == Status.ACTIVE and programme.actual_end == date(2028, 6, 30)

    programme_change_status(
        programme=programme, to_status=Status.COMPLETED, user=staff, reason="Fin", actual_end=date(2026, 6, 30)
    )
    assert programme.actual_end == date(2026, 6, 30)


def test_an_actual_end_before_the_actual_start_is_refused(reference, staff):
    programme = make_programme(status=Status.ACTIVE, actual_start=date(2025, 6, 1))
    with pytest.raises(TransitionNotAllowed):
        programme_change_status(
            programme=programme, to_status=Status.COMPLETED, user=staff, reason="x", actual_end=date(2025, 1, 1)
        )


def test_becoming_active_keeps_a_recorded_actual_start(reference, staff):
    programme = make_programme(status=Status.SUSPENDED, actual_start=date(2025, 3, 1))
    programme_change_status(programme=programme, to_status=Status.ACTIVE, user=staff)
    assert programme.actual_start == date(2025, 3, 1)


def test_a_completed_programme_cannot_be_saved_with_an_actual_end_in_the_future(reference):
    programme = make_programme(status=Status.COMPLETED, actual_start=date(2025, 1, 1), actual_end=date(2026, 1, 1))
    programme.actual_end = TODAY() + timedelta(days=1)
    with pytest.raises(ValidationError) as refused:
        programme.full_clean()
    assert "actual_end" in refused.value.message_dict


def test_an_agreement_road_programme_cannot_be_submitted_to_the_review(reference, staff):
    programme = donor_funded()
    with pytest.raises(TransitionNotAllowed) as refused:
        programme_change_status(programme=programme, to_status=Status.SUBMITTED, user=staff, via_review=True)
    assert refused.value.error_dict["status"][0].code == "road"


# --- The status page asks before an irreversible step ------------------------------------------------


def test_an_irreversible_step_asks_for_confirmation_and_a_reason_first(client, staff):
    programme = make_programme(status=Status.ACTIVE)
    client.force_login(staff)

    page = client.get(f"/en/programmes/{programme.code}/status/?to=completed").content.decode()
    assert 'id="status-confirm"' in page and "cannot be undone" in page and 'name="actual_end"' in page

    unconfirmed = client.post(f"/en/programmes/{programme.code}/status/", {"to_status": "completed", "reason": "x"})
    assert unconfirmed.status_code == 200 and 'id="status-confirm"' in unconfirmed.content.decode()
    programme.refresh_from_db()
    assert programme.status == Status.ACTIVE and not programme.status_changes.exists()


def test_the_status_page_marks_irreversible_steps_and_offers_suspension_directly(client, staff):
    programme = make_programme(status=Status.ACTIVE)
    client.force_login(staff)
    page = client.get(f"/en/programmes/{programme.code}/status/").content.decode()
    assert 'name="to_status" value="suspended"' in page
    assert "status/?to=completed" in page and 'name="to_status" value="completed"' not in page


# --- Every status rule through every door ------------------------------------------------------------


def case_suspended_without_reason():
    return make_programme(status=Status.ACTIVE), {"status": Status.SUSPENDED, "reason": ""}


def case_cancelled_without_reason():
    return make_programme(status=Status.PIPELINE), {"status": Status.CANCELLED, "reason": " "}


def case_completed_with_an_actual_end_in_the_future():
    end = (TODAY() + timedelta(days=30)).isoformat()
    return make_programme(status=Status.ACTIVE), {"status": Status.COMPLETED, "reason": "Fin", "actual_end": end}


def case_approved_on_the_agreement_road_without_a_basis():
    return donor_funded(), {"status": Status.APPROVED, "reason": ""}


def case_an_idf_programme_approved_outside_the_review():
    programme = fund_by_idf(donor_funded())
    record_basis(programme)
    return programme, {"status": Status.APPROVED, "reason": ""}


CASES = [
    case_suspended_without_reason,
    case_cancelled_without_reason,
    case_completed_with_an_actual_end_in_the_future,
    case_approved_on_the_agreement_road_without_a_basis,
    case_an_idf_programme_approved_outside_the_review,
]


def service_message(programme: Programme, data: dict, user) -> str:
    """The service's own refusal, in French, tried inside a rolled-back savepoint."""
    actual_end = date.fromisoformat(data["actual_end"]) if data.get("actual_end") else None
    with translation.override("fr"), pytest.raises(TransitionNotAllowed) as refused, transaction.atomic():
        programme_change_status(
            programme=programme, to_status=data["status"], user=user, reason=data["reason"], actual_end=actual_end
        )
    [message] = refused.value.messages
    return message


def through_the_page(client, programme, data):
    form = {"to_status": data["status"], "reason": data["reason"], "confirmed": "1"}
    if "actual_end" in data:
        form["actual_end"] = data["actual_end"]
    response = client.post(f"/fr/programmes/{programme.code}/status/", form)
    return response.status_code, response.content.decode()


def through_the_api(client, programme, data, user):
    response = token_client(user, "fr").post(f"/api/v1/programmes/{programme.code}/transition/", data, format="json")
    errors = response.json().get("errors", {})
    return response.status_code, " ".join(m for messages in errors.values() for m in messages)


def through_the_admin(client, programme, data):
    form = {"programme": programme.code, "to_status": data["status"], "reason": data["reason"]}
    if "actual_end" in data:
        form["actual_end"] = data["actual_end"]
    response = client.post("/admin/programmes/programmestatuschange/add/", form, HTTP_ACCEPT_LANGUAGE="fr")
    return response.status_code, response.content.decode()


@pytest.mark.parametrize("door", ["page", "api", "admin"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__.removeprefix("case_"))
def test_every_door_refuses_a_status_rule_with_the_same_message_and_changes_nothing(client, staff, door, case):
    programme, data = case()
    before = (programme.status, programme.version, programme.actual_end)
    expected = service_message(programme, data, staff)
    client.force_login(staff)

    if door == "page":
        status, body = through_the_page(client, programme, data)
        expected = escape(expected)
    elif door == "api":
        status, body = through_the_api(client, programme, data, staff)
    else:
        status, body = through_the_admin(client, programme, data)
        expected = escape(expected)

    assert status == 400
    assert expected in body
    programme.refresh_from_db()
    assert (programme.status, programme.version, programme.actual_end) == before
    assert not ProgrammeStatusChange.objects.filter(programme=programme).exists()


def test_the_admin_moves_a_programme_through_the_same_service(client, staff):
    programme = donor_funded()
    record_basis(programme, staff)
    client.force_login(staff)

    response = client.post(
        "/admin/programmes/programmestatuschange/add/", {"programme": programme.code, "to_status": "approved"}
    )

    assert response.status_code == 302
    programme.refresh_from_db()
    assert programme.status == Status.APPROVED
    assert programme.status_changes.get().changed_by == staff


def test_the_admin_status_form_is_for_editors_only(client, viewer):
    client.force_login(viewer)
    assert client.get("/admin/programmes/programmestatuschange/add/").status_code == 403


def test_the_api_approves_a_donor_funded_programme_on_its_basis_and_completes_it_with_its_real_end(staff):
    programme = donor_funded()
    record_basis(programme, staff)
    api = token_client(staff, "en")
    url = f"/api/v1/programmes/{programme.code}/transition/"
    assert api.post(url, {"status": "approved"}, format="json").status_code == 200
    assert api.post(url, {"status": "active"}, format="json").status_code == 200
    done = api.post(url, {"status": "completed", "reason": "Ended", "actual_end": TODAY().isoformat()}, format="json")
    assert done.status_code == 200, done.json()
    programme.refresh_from_db()
    assert programme.status == Status.COMPLETED and programme.actual_end == TODAY()


def test_programme_officers_may_record_signed_agreements_in_the_admin(staff, viewer):
    assert staff.has_perm("programmes.add_programmeagreement") and staff.has_perm(
        "programmes.change_programmeagreement"
    )
    assert not viewer.has_perm("programmes.add_programmeagreement")
