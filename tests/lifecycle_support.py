"""Helpers of the lifecycle tests: programmes on each road, and the recorded basis of the agreement road."""

from __future__ import annotations

from datetime import date

from partners.models import Organisation, OrganisationCategory
from programmes.models import (
    IDF_ORGANISATION_CODE,
    Document,
    DocumentCategory,
    Participation,
    Programme,
    ProgrammeAgreement,
    Role,
)

from .conftest import make_organisation


def idf() -> Organisation:
    """The IOM Development Fund as `load_reference_data` loads it (created if a test flushed it)."""
    organisation = Organisation.objects.filter(code=IDF_ORGANISATION_CODE).first()
    return organisation or make_organisation(IDF_ORGANISATION_CODE, category=OrganisationCategory.IOM)


def fund_by_idf(programme: Programme, amount=None) -> Programme:
    Participation.objects.create(programme=programme, organisation=idf(), role=Role.FUNDING, contribution=amount)
    return programme


def add_endorsement(programme: Programme) -> Document:
    """An endorsing-authority ministry and its endorsement letter."""
    ministry = make_organisation(f"endorser-{programme.pk}", category=OrganisationCategory.NATIONAL_GOVERNMENT)
    Participation.objects.create(programme=programme, organisation=ministry, role=Role.ENDORSING_AUTHORITY)
    return Document.objects.create(
        programme=programme,
        title="Lettre d'endossement",
        category=DocumentCategory.ENDORSEMENT_LETTER,
        issuing_organisation=ministry,
        file="documents/test/endorsement.pdf",
    )


def add_agreement_document(programme: Programme) -> Document:
    return Document.objects.create(
        programme=programme, title="Accord signé", category=DocumentCategory.AGREEMENT, file="documents/test/accord.pdf"
    )


def record_basis(programme: Programme, user=None) -> ProgrammeAgreement:
    """The full basis of the agreement road: the signed agreement and the government endorsement."""
    add_endorsement(programme)
    return ProgrammeAgreement.objects.create(
        programme=programme,
        reference="EU-2025-0042",
        signed_on=date(2025, 1, 15),
        document=add_agreement_document(programme),
        recorded_by=user,
    )
