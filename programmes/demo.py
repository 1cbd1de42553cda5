"""Deterministic demo data: realistic bilingual programmes, demo partners and the demo accounts.

Everything is written with bulk inserts so that 10,000 programmes take seconds, not hours.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from auditlog.context import disable_auditlog
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.dispatch import Signal

from partners.models import DEFAULT_IATI_TYPE, Organisation, OrganisationCategory, User
from regions.models import AdminUnit

from .bulk_load import BulkLoader
from .models import (
    IDF_ORGANISATION_CODE,
    AgeGroup,
    Document,
    DocumentCategory,
    Frequency,
    Indicator,
    IndicatorValue,
    KeyIndicator,
    Outcome,
    Output,
    Participation,
    Programme,
    ProgrammeAgreement,
    ProgrammeLocation,
    RecipientCountry,
    RecipientRegion,
    Role,
    Scope,
    Sector,
    Sex,
    Status,
    Transaction,
    TransactionKind,
    Visibility,
)
from .reference import load_reference_data, of_place
from .roles import ensure_role_groups
from .search import parts_text, place_and_sector_words, search_text_of
from .summary import programmes_changed

# Demo data is anchored to a fixed date so that the same seed always gives the same data.
TODAY = date(2026, 11, 1)
DEMO_CODE_REGEX = r"^NE-[A-Z]+-[0-9]{4}-[0-9]{5}$"
DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 — published demo password, see CONTRACT.md
# A minimal valid one-page PDF, so that the demo letters and agreements open.
DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj "
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
# The donor-funded national programme the demo approves on its agreement (when the seed produces it).
AGREEMENT_DEMO_CODE = "NE-MH-2025-00016"

# Sent by `manage.py seed_demo` once the demo programmes and accounts exist: apps above programmes add their
# own demo data in a receiver (reviews seeds its roles and proposals), so programmes never imports them.
demo_seeded = Signal()

DEMO_ORGANISATIONS = [
    # code, acronym, category, name_fr, name_en
    ("ue", "UE", OrganisationCategory.DONOR, "Union européenne", "European Union"),
    (
        "aics",
        "AICS",
        OrganisationCategory.DONOR,
        "Agence italienne pour la coopération au développement",
        "Italian Agency for Development Cooperation",
    ),
    ("pays-bas", "NL", OrganisationCategory.DONOR, "Royaume des Pays-Bas", "Kingdom of the Netherlands"),
    (
        "usa-prm",
        "PRM",
        OrganisationCategory.DONOR,
        "Département d'État des États-Unis (PRM)",
        "US Department of State (PRM)",
    ),
    (
        "hcr",
        "HCR",
        OrganisationCategory.UN_MULTILATERAL,
        "Haut-Commissariat des Nations unies pour les réfugiés",
        "UN Refugee Agency",
    ),
    (
        "unicef",
        "UNICEF",
        OrganisationCategory.UN_MULTILATERAL,
        "Fonds des Nations unies pour l'enfance",
        "United Nations Children's Fund",
    ),
    (
        "onudc",
        "ONUDC",
        OrganisationCategory.UN_MULTILATERAL,
        "Office des Nations unies contre la drogue et le crime",
        "United Nations Office on Drugs and Crime",
    ),
    ("crn", "CRN", OrganisationCategory.NGO, "Croix-Rouge nigérienne", "Niger Red Cross"),
    ("plan-niger", "Plan", OrganisationCategory.NGO, "Plan International Niger", "Plan International Niger"),
    (
        "uam",
        "UAM",
        OrganisationCategory.ACADEMIC,
        "Université Abdou Moumouni de Niamey",
        "Abdou Moumouni University of Niamey",
    ),
]

# Acronyms that differ in English.
ENGLISH_ACRONYMS = {"ue": "EU", "hcr": "UNHCR", "onudc": "UNODC"}

# Government counterpart of each sector.
COUNTERPART = {
    "LM": "mtps",
    "AM": "maec",
    "MD": "maec",
    "CT": "anltp-tim",
    "AVRR": "mah-gc",
    "MH": "mah-gc",
    "VM": "mpf-pe",
    "IBM": "mid",
    "CB": "mp",
    "CS": "mah-gc",
}

# (French, English) title patterns per sector; {place} is a region, department or commune.
TITLES = {
    "LM": [("Migration de main-d'œuvre équitable depuis {place}", "Fair labour migration from {place}")],
    "AM": [("Assistance aux mouvements organisés au départ {of_place}", "Assisted movements from {place}")],
    "MD": [("Diaspora et développement local à {place}", "Diaspora and local development in {place}")],
    "CT": [
        ("Lutte contre la traite des personnes à {place}", "Counter-trafficking in {place}"),
        ("Protection des victimes de la traite à {place}", "Protection of victims of trafficking in {place}"),
    ],
    "AVRR": [
        (
            "Retour volontaire et réintégration durable à {place}",
            "Voluntary return and sustainable reintegration in {place}",
        ),
        (
            "Réintégration communautaire des migrants de retour à {place}",
            "Community reintegration of returning migrants in {place}",
        ),
    ],
    "MH": [
        ("Santé des migrants et des communautés hôtes à {place}", "Health of migrants and host communities in {place}")
    ],
    "VM": [("Protection des migrants vulnérables à {place}", "Protection of vulnerable migrants in {place}")],
    "IBM": [("Gestion intégrée des frontières à {place}", "Integrated border management in {place}")],
    "CB": [
        (
            "Renforcement des capacités de gestion des migrations à {place}",
            "Migration management capacity building in {place}",
        )
    ],
    "CS": [
        (
            "Stabilisation des communautés et cohésion sociale à {place}",
            "Community stabilization and social cohesion in {place}",
        )
    ],
}

SUMMARY = (
    "Programme de l'OIM au Niger dans le secteur « {sector_fr} », mené avec les autorités nationales et locales à {place}.",
    "IOM Niger programme in the “{sector_en}” sector, carried out with national and local authorities in {place}.",
)

KEY_INDICATOR_OF_SECTOR = {
    "AVRR": (
        KeyIndicator.MIGRANTS_RETURNED,
        "Migrants assistés au retour volontaire",
        "Migrants assisted to return voluntarily",
    ),
    "CT": (KeyIndicator.TRAFFICKED_ASSISTED, "Victimes de la traite assistées", "Trafficked persons assisted"),
    "VM": (KeyIndicator.MIGRANTS_ASSISTED, "Migrants vulnérables assistés", "Vulnerable migrants assisted"),
    "CB": (KeyIndicator.OFFICIALS_TRAINED, "Agents de l'État formés", "Government officials trained"),
}

STATUS_WEIGHTS = [
    (Status.ACTIVE, 40),
    (Status.COMPLETED, 12),
    (Status.CLOSED, 8),
    (Status.PIPELINE, 10),
    (Status.SUBMITTED, 5),
    (Status.UNDER_REVIEW, 5),
    (Status.APPROVED, 6),
    (Status.SUSPENDED, 3),
    (Status.REVISION_REQUESTED, 3),
    (Status.REJECTED, 2),
    (Status.CANCELLED, 2),
]


# Recipients of the demo programmes by scope: (countries, regions) as (code, percentage). Every demo
# programme has places in Niger, so Niger is always among its countries.
DEMO_RECIPIENTS = {
    Scope.NATIONAL: ([("NE", 100)], []),
    Scope.REGIONAL: ([("NE", 50), ("ML", 25), ("BF", 25)], []),
    Scope.MULTI_REGIONAL: ([("NE", 40), ("ML", 20), ("LY", 20), ("MA", 20)], [("289", 60), ("189", 40)]),
    Scope.GLOBAL: ([("NE", 40), ("ML", 20), ("TD", 20), ("BD", 20)], [("998", 100)]),
}


class Phases:
    """Wall and CPU time of each phase of the seed (`seed_demo -v 2` prints them): wall minus CPU is mostly
    the database's work."""

    def __init__(self, report: Callable[[str], None] | None = None) -> None:
        self.report = report
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        self.start_wall, self.start_cpu = self.wall, self.cpu

    def done(self, name: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        if self.report:
            self.report(f"  {name}: {wall - self.wall:.1f} s wall, {cpu - self.cpu:.1f} s CPU, {_peak_mb()} MB peak")
        self.wall, self.cpu = wall, cpu

    def total(self) -> None:
        if self.report:
            wall, cpu = time.perf_counter() - self.start_wall, time.process_time() - self.start_cpu
            self.report(f"  total: {wall:.1f} s wall, {cpu:.1f} s CPU")


@dataclass(slots=True)
class _Planned:
    """A demo programme before it is written: what its row, its results and its money are made of."""

    code: str
    title_fr: str
    title_en: str
    summary_fr: str
    summary_en: str
    scope: str
    status: str
    planned_start: date
    planned_end: date
    actual_start: date | None
    actual_end: date | None
    budget: Decimal
    currency: str
    pk: int | None = None
    row: tuple | None = field(default=None, repr=False)


PROGRAMME_BATCH = 5000
# The programme's columns written by seed_demo, in the order of _Planned.row; the others take their default.
PROGRAMME_FIELDS = (
    "code",
    "title_fr",
    "title_en",
    "summary_fr",
    "summary_en",
    "primary_sector_id",
    "scope",
    "status",
    "planned_start",
    "planned_end",
    "actual_start",
    "actual_end",
    "budget",
    "currency",
    "iom_focal_point_id",
    "internal_notes",
    "created_by_id",
    "updated_by_id",
    "search_text",
    "place_codes",
)


def _peak_mb() -> int:
    """The process's peak resident memory so far, in MB (0 where the resource module is missing)."""
    try:
        import resource
    except ImportError:  # not on Windows
        return 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # kB on Linux


@dataclass
class DemoSummary:
    programmes: int
    participations: int
    locations: int
    indicators: int
    values: int
    users: int
    transactions: int = 0


# Published IATI organisation identifiers of the demo's donors and agencies (OECD DAC codes; the IATI
# identifier of the European Commission's DG for International Partnerships).
DEMO_IATI_IDENTIFIERS = {
    "ue": "XI-IATI-EC_INTPA",
    "aics": "XM-DAC-6-4",
    "pays-bas": "XM-DAC-7",
    "hcr": "XM-DAC-41121",
    "unicef": "XM-DAC-41122",
}


def _ensure_demo_organisations() -> None:
    for code, acronym, category, name_fr, name_en in DEMO_ORGANISATIONS:
        Organisation.objects.update_or_create(
            code=code,
            defaults={
                "acronym": acronym,
                "acronym_en": ENGLISH_ACRONYMS.get(code, ""),
                "category": category,
                "name_fr": name_fr,
                "name_en": name_en,
                "iati_type": DEFAULT_IATI_TYPE[category],
                "iati_identifier": DEMO_IATI_IDENTIFIERS.get(code, ""),
            },
        )


def ensure_demo_accounts() -> list[User]:
    groups = ensure_role_groups()  # created by migration programmes.0004; recreated if a test flushed them
    groups["Technical experts"] = Group.objects.get_or_create(name="Technical experts")[0]
    orgs = {o.code: o for o in Organisation.objects.filter(code__in=["anltp-tim", "ins"])}
    specs = [
        ("admin", "Aïcha", "Administratrice", {"is_staff": True, "is_superuser": True}, None, None),
        ("staff", "Moussa", "Issoufou", {"is_staff": True}, "IOM programme officers", None),
        ("viewer", "Fatima", "Abdou", {"is_staff": True}, "IOM viewers", None),
        ("expert", "Ibrahim", "Maïga", {"is_staff": True}, "Technical experts", None),
        ("partner.anltp", "Mariama", "Soumana", {}, None, orgs["anltp-tim"]),
        ("partner.ins", "Oumarou", "Hamani", {}, None, orgs["ins"]),
    ]
    users = []
    for username, first, last, flags, group, organisation in specs:
        user, _ = User.objects.update_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username}@demo.iom-niger.example",
                "organisation": organisation,
                "is_active": True,
                "is_staff": flags.get("is_staff", False),
                "is_superuser": flags.get("is_superuser", False),
            },
        )
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
        user.groups.set([groups[group]] if group else [])
        users.append(user)
    return users


def seed_demo(*, programmes: int = 40, seed: int = 2026, phases: Phases | None = None) -> DemoSummary:
    """Create `programmes` demo programmes; the same seed gives the same data."""
    phases = phases or Phases()
    with transaction.atomic():
        summary = _seed_demo(programmes, seed, phases)
    phases.done("commit")
    return summary


def _seed_demo(programmes: int, seed: int, phases: Phases) -> DemoSummary:
    if not Sector.objects.exists():
        load_reference_data()
    _ensure_demo_organisations()
    users = ensure_demo_accounts()
    rng = random.Random(seed)

    sectors = list(Sector.objects.order_by("order"))
    orgs = {o.code: o for o in Organisation.objects.all()}
    donors = [orgs[c] for c in ("ue", "aics", "pays-bas", "usa-prm", "iom-idf")]
    implementers = [orgs[c] for c in ("crn", "plan-niger", "hcr", "unicef", "onudc", "uam")]
    governorates = {o.admin_unit_id: o for o in orgs.values() if o.code.startswith("gov-")}
    units = list(AdminUnit.objects.without_boundary().select_related("parent__parent").order_by("pcode"))
    region_of = {u.pk: (u.ancestors()[0] if u.parent_id else u) for u in units}
    units_of_region: dict[int, list[AdminUnit]] = {}
    for unit in units:
        units_of_region.setdefault(region_of[unit.pk].pk, []).append(unit)
    # The other units of each unit's region (the places a programme adds to its first one), in pcode order.
    neighbours_of = {u.id: [v for v in units_of_region[region_of[u.id].id] if v.id != u.id] for u in units}
    focal_points = [u for u in users if u.username in ("staff", "admin")]
    statuses = [s for s, _ in STATUS_WEIGHTS]
    weights = [w for _, w in STATUS_WEIGHTS]

    phases.done("organisations and demo accounts")
    plan = []
    for n in range(1, programmes + 1):
        sector = sectors[(n - 1) % len(sectors)] if n <= len(sectors) else rng.choice(sectors)
        start = date(2021, 1, 1) + timedelta(days=rng.randrange(0, 6 * 365))
        if n % 7 == 0 or n % 5 == 0:
            start = TODAY - timedelta(days=rng.randrange(120, 330))  # demo partners' programmes are under way
        code = f"NE-{sector.code}-{start.year}-{n:05d}"
        plan.append((n, sector, start, code))

    # Demo programmes are recognised by their code pattern and replaced as a whole. Replacing demo data is not
    # history: without the audit log, the tens of thousands of rows they take along are not logged one by one.
    with disable_auditlog():
        _delete_demo_parts()
        Programme.objects.filter(code__regex=DEMO_CODE_REGEX).delete()
    phases.done("old demo programmes deleted")

    unit_words, sector_words = place_and_sector_words(AdminUnit, Sector)
    # The organisations in the order of their names as the database sorts them (its collation); the roles'
    # values differ by their first letter, so that any collation sorts them as Python does.
    name_rank = {
        code: rank
        for rank, code in enumerate(Organisation.objects.order_by("name_fr", "pk").values_list("code", flat=True))
    }
    indicator_words = {sector.code: _indicator_titles(sector.code) for sector in sectors}
    # A bulk load (COPY on PostgreSQL): the indexes and constraints of these tables are built once at the end
    # rather than row by row, and every foreign key checked in one pass (all rolled back on error).
    loader = BulkLoader(Programme)
    Through = Programme.secondary_sectors.through
    loaded = [Programme, Participation, ProgrammeLocation, Through, RecipientCountry, RecipientRegion]
    loaded += [Outcome, Output, Indicator, IndicatorValue, Transaction]
    bulk_load = ExitStack()
    bulk_load.enter_context(loader.tables_set_aside(loaded))
    phases.done("indexes and constraints set aside")

    def write(programmes: list[_Planned]) -> None:
        """Programme rows are written as they are planned: their search words are not all held at once."""
        ids = loader.insert(Programme, PROGRAMME_FIELDS, [p.row for p in programmes])
        for programme, pk in zip(programmes, ids, strict=True):
            programme.pk, programme.row = pk, None
        programmes.clear()

    planned, unwritten, secondary, participations, locations = [], [], [], [], []
    results_plan = []
    for n, sector, start, code in plan:
        # Places of one region; the title names the place itself, or its region when there are several.
        first = rng.choice(units)
        region = region_of[first.pk]
        neighbours = neighbours_of[first.id]
        place_units = [first, *rng.sample(neighbours, min(len(neighbours), rng.choice([0, 0, 1, 2])))]
        named = first if len(place_units) == 1 else region
        place = _place_name(named.name_fr)
        place_en = _place_name(named.name_en or named.name_fr)
        title_fr, title_en = rng.choice(TITLES[sector.code])
        duration = timedelta(days=rng.choice([365, 540, 730, 1095]))
        drawn = rng.choices(statuses, weights)[0]
        if n % 7 == 0 or n % 5 == 0:
            # The demo partners' joint programmes are mostly under way, so their dashboards show something.
            drawn = rng.choice([Status.ACTIVE, Status.ACTIVE, Status.ACTIVE, drawn])
        status = _plausible_status(drawn, start, start + duration)
        start = _start_matching(status, start, duration, rng)
        code = f"NE-{sector.code}-{start.year}-{n:05d}"
        budget = Decimal(rng.randrange(50, 3000) * 1000)
        currency = rng.choice(["USD", "USD", "EUR", "XOF"])
        if currency == "XOF":
            budget *= 600
        started = status in (Status.ACTIVE, Status.SUSPENDED, Status.COMPLETED, Status.CLOSED)
        # Drawn in this order since the first seed: the scope, then the focal point.
        scope = rng.choices([Scope.NATIONAL, Scope.REGIONAL, Scope.MULTI_REGIONAL, Scope.GLOBAL], [6, 3, 2, 1])[0]
        focal_point = rng.choice(focal_points)
        programme = _Planned(
            code=code,
            title_fr=title_fr.format(place=place, of_place=of_place(place)),
            title_en=title_en.format(place=place_en),
            summary_fr=SUMMARY[0].format(sector_fr=sector.name_fr, place=place),
            summary_en=SUMMARY[1].format(sector_en=sector.name_en, place=place_en),
            scope=scope,
            status=status,
            planned_start=start,
            planned_end=start + duration,
            actual_start=start if started else None,
            actual_end=start + duration if status in (Status.COMPLETED, Status.CLOSED) else None,
            budget=budget,
            currency=currency,
        )
        planned.append(programme)

        # ANLTP/TIM takes part in counter-trafficking and every 7th programme, INS in every 5th: both
        # demo partners have several joint programmes, and many programmes involve neither.
        roles: dict[str, tuple[str, Decimal | None]] = {COUNTERPART[sector.code]: (Role.GOVERNMENT_COUNTERPART, None)}
        if n % 7 == 0 or sector.code == "CT":
            roles.setdefault("anltp-tim", (Role.IMPLEMENTING_PARTNER, None))
        if n % 5 == 0:
            roles.setdefault("ins", (Role.BENEFICIARY_INSTITUTION, None))
        donor = rng.choice(donors)
        roles.setdefault(donor.code, (Role.FUNDING, (budget * Decimal("0.8")).quantize(Decimal("1"))))
        if rng.random() < 0.6:
            roles.setdefault(rng.choice(implementers).code, (Role.IMPLEMENTING_PARTNER, None))
        governorate = governorates.get(region_of[place_units[0].pk].pk)
        if governorate is not None:
            roles.setdefault(governorate.code, (Role.ENDORSING_AUTHORITY, None))
        participations.append((programme, roles))
        locations.append((programme, place_units))
        other = rng.choice(sectors)
        has_other = other != sector and rng.random() < 0.4
        if has_other:
            secondary.append((programme, other))
        results_plan.append((programme, sector, start, started))

        # The search words of the programme and its parts, as programmes/search.py gathers them from the
        # stored rows (sectors, places, partners, indicators), written with the row rather than after it. The
        # parts come in their models' order (Meta.ordering): places by P-code, partners by role then name.
        words = [*sector_words[sector.id], *(sector_words[other.id] if has_other else ())]
        codes = []
        for unit in sorted(place_units, key=lambda unit: unit.pcode):
            unit_codes, names = unit_words[unit.id]
            codes += unit_codes
            words += names
        for org_code in sorted(roles, key=lambda code: (roles[code][0], name_rank[code])):
            organisation = orgs[org_code]
            words += [organisation.acronym, organisation.acronym_en, organisation.name_fr, organisation.name_en]
        words += indicator_words[sector.code]
        parts, place_codes = parts_text(words, codes)
        programme.row = (
            programme.code,
            programme.title_fr,
            programme.title_en,
            programme.summary_fr,
            programme.summary_en,
            sector.pk,
            scope,
            status,
            programme.planned_start,
            programme.planned_end,
            programme.actual_start,
            programme.actual_end,
            budget,
            currency,
            focal_point.pk,
            "Note interne OIM : suivi budgétaire trimestriel." if n % 3 == 0 else "",
            users[1].pk,
            users[1].pk,
            search_text_of(Programme.build_search_text(programme), parts),
            place_codes,
        )
        unwritten.append(programme)
        if len(unwritten) == PROGRAMME_BATCH:
            write(unwritten)
    write(unwritten)
    phases.done("programmes planned and inserted")
    loader.insert(
        Participation,
        ("programme_id", "organisation_id", "role", "contribution"),
        [(p.pk, orgs[code].id, role, amount) for p, roles in participations for code, (role, amount) in roles.items()],
    )
    loader.insert(
        ProgrammeLocation,
        ("programme_id", "admin_unit_id"),
        [(p.pk, u.id) for p, place_units in locations for u in place_units],
    )
    loader.insert(Through, ("programme_id", "sector_id"), [(p.pk, s.id) for p, s in secondary])
    loader.insert(
        RecipientCountry,
        ("programme_id", "country_id", "percentage"),
        [(p.pk, code, Decimal(share)) for p in planned for code, share in DEMO_RECIPIENTS[p.scope][0]],
    )
    loader.insert(
        RecipientRegion,
        ("programme_id", "region_id", "percentage"),
        [(p.pk, code, Decimal(share)) for p in planned for code, share in DEMO_RECIPIENTS[p.scope][1]],
    )
    phases.done("their lists inserted")
    counts = _seed_results(rng, results_plan, loader)
    phases.done("results inserted")
    # Money has its own random sequence: adding it left every other demo figure as it was.
    transactions = _seed_transactions(random.Random(seed * 7919 + 1), participations, orgs, loader)
    phases.done("transactions inserted")
    bulk_load.close()
    phases.done("indexes and constraints built, foreign keys checked, tables analysed")
    programmes_changed()
    seed_agreement_demo(focal_point=users[1])
    phases.done("agreement demo")
    return DemoSummary(
        programmes=len(planned),
        participations=sum(len(r) for _, r in participations),
        locations=sum(len(u) for _, u in locations),
        indicators=counts[0],
        values=counts[1],
        users=len(users),
        transactions=transactions,
    )


def _delete_demo_parts() -> None:
    """Before the old demo programmes are deleted: the rows of their own lists, results and money, one DELETE per
    table, rather than each fetched and deleted by the cascade (minutes and gigabytes at 100,000 programmes).
    Their delete signals do nothing inside a programme's deletion (programmes/summary_signals.py) and the
    audit log is off; the programmes' own deletion that follows sends the change once. Skipped if any other
    model points at one of these tables: the cascade then deletes everything as before."""
    Through = Programme.secondary_sectors.through
    parts = [IndicatorValue, Indicator, Output, Outcome, Transaction, Participation, ProgrammeLocation]
    parts += [RecipientCountry, RecipientRegion, Through]
    if any(rel.related_model not in parts for model in parts for rel in model._meta.related_objects):
        return
    demo = Programme.objects.filter(code__regex=DEMO_CODE_REGEX).values("pk")
    for queryset in (
        IndicatorValue.objects.filter(indicator__programme__in=demo),
        Indicator.objects.filter(programme__in=demo),
        Output.objects.filter(outcome__programme__in=demo),
        *(model.objects.filter(programme__in=demo) for model in parts[3:]),
    ):
        queryset._raw_delete(queryset.db)


UNDER_WAY = (Status.ACTIVE, Status.SUSPENDED, Status.COMPLETED, Status.CLOSED)


def _seed_transactions(rng: random.Random, participations: list, orgs: dict, loader: BulkLoader) -> int:
    """The money of the demo, so that "spent against budget" shows: the funder's commitment (incoming, with
    the funder as provider) on approved and later programmes; for those under way, the funds received so
    far, and disbursements to the implementing partner and IOM's own expenditure up to the demo's day.

    What is spent follows the share of the programme's time elapsed (55-95 % of it, all of it at most once
    ended), so it never goes above the budget; amounts are whole units of the programme's currency."""
    rows = []
    for programme, roles in participations:
        if programme.status not in (Status.APPROVED, *UNDER_WAY) or not programme.budget:
            continue
        funders = [(orgs[code], amount) for code, (role, amount) in roles.items() if role == Role.FUNDING and amount]
        partners = [orgs[code] for code, (role, _amount) in roles.items() if role == Role.IMPLEMENTING_PARTNER]
        money = (programme.pk, programme.currency, f"DEMO-{programme.code}")
        for funder, amount in funders:
            rows.append((*money, TransactionKind.INCOMING_COMMITMENT, programme.planned_start, amount, funder.id, None))
        if programme.status not in UNDER_WAY:
            continue
        start = programme.actual_start or programme.planned_start
        last = min(TODAY, programme.actual_end or programme.planned_end or TODAY)
        days = (last - start).days
        length = max(((programme.actual_end or programme.planned_end or last) - start).days, 1)
        if days <= 0:
            continue
        elapsed = Decimal(min(days, length)) / Decimal(length)
        for funder, amount in funders:  # the funds received: the share of the time elapsed, rounded up a little
            received = (amount * min(Decimal(1), elapsed + Decimal("0.2"))).quantize(Decimal("1"))
            if received > 0:
                rows.append(
                    (
                        *money,
                        TransactionKind.INCOMING_FUNDS,
                        start + timedelta(days=min(30, days)),
                        received,
                        funder.id,
                        None,
                    )
                )
        ended = programme.status in (Status.COMPLETED, Status.CLOSED)
        share = Decimal(1) if ended else elapsed
        spent = (programme.budget * share * Decimal(rng.randrange(55, 96)) / 100).quantize(Decimal("1"))
        instalments = max(1, min(4, days // 90))
        piece = (spent / instalments).quantize(Decimal("1"))
        for i in range(instalments):
            value = spent - piece * (instalments - 1) if i == instalments - 1 else piece
            if value <= 0:
                continue
            to_partner = partners and i % 2 == 1  # every other instalment is passed on to the partner
            rows.append(
                (
                    *money,
                    TransactionKind.DISBURSEMENT if to_partner else TransactionKind.EXPENDITURE,
                    start + timedelta(days=days * (i + 1) // instalments),
                    value,
                    None,
                    partners[0].id if to_partner else None,
                )
            )
    fields = ("programme_id", "currency", "reference", "kind", "date", "value", "provider_id", "receiver_id")
    return len(loader.insert(Transaction, fields, rows))


def _place_name(name: str) -> str:
    """A commune's name as a title says it: "Ville de Tahoua" → "Tahoua"."""
    for prefix in ("Ville de ", "Ville d'", "City of "):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _start_matching(status: str, start: date, duration: timedelta, rng: random.Random) -> date:
    """Move the dates to agree with the status: a programme not yet started begins in the future, a
    completed or closed one ended in the past. Others already agree (see _plausible_status)."""
    if status in (
        Status.PIPELINE,
        Status.SUBMITTED,
        Status.UNDER_REVIEW,
        Status.REVISION_REQUESTED,
        Status.APPROVED,
    ) and (start <= TODAY):
        return TODAY + timedelta(days=rng.randrange(30, 270))
    if status in (Status.COMPLETED, Status.CLOSED) and start + duration >= TODAY:
        return TODAY - duration - timedelta(days=rng.randrange(30, 400))
    return start


def _plausible_status(drawn: str, start: date, end: date) -> str:
    """Keep the drawn status unless the dates contradict it (nothing completed before it starts)."""
    if start > TODAY and drawn in (Status.ACTIVE, Status.SUSPENDED, Status.COMPLETED, Status.CLOSED):
        return Status.APPROVED
    if end < TODAY and drawn in (Status.ACTIVE, Status.SUSPENDED):
        return Status.COMPLETED
    if end > TODAY and drawn in (Status.COMPLETED, Status.CLOSED):
        return Status.ACTIVE  # nothing is completed before its end
    return drawn


def demo_file(name: str) -> str:
    """A stored demo PDF (written once), for demo letters and agreements."""
    path = f"documents/demo/{name}"
    if not default_storage.exists(path):
        default_storage.save(path, ContentFile(DEMO_PDF))
    return path


def demo_document(programme: Programme, *, title: str, category: str, issuer=None, uploaded_by=None) -> Document:
    return Document.objects.create(
        programme=programme,
        title=title,
        category=category,
        visibility=Visibility.PARTNERS,
        issuing_organisation=issuer,
        file=demo_file(f"{category}.pdf"),
        original_filename=f"{category}.pdf",
        content_type="application/pdf",
        size=len(DEMO_PDF),
        uploaded_by=uploaded_by,
    )


def seed_agreement_demo(*, focal_point: User) -> Programme | None:
    """Give a donor-funded national pipeline programme its signed agreement and endorsement letter, so
    that it can be taken pipeline → approved → active on the agreement road."""
    candidates = (
        Programme.objects.filter(code__regex=DEMO_CODE_REGEX, status=Status.PIPELINE, scope=Scope.NATIONAL)
        .exclude(primary_sector__code__in=["CT", "AVRR"])  # those two are the review demo's (reviews.demo)
        .filter(participations__role=Role.FUNDING, participations__organisation__category=OrganisationCategory.DONOR)
        .exclude(participations__organisation__code=IDF_ORGANISATION_CODE)
        .order_by("code")
    )
    programme = candidates.filter(code=AGREEMENT_DEMO_CODE).first() or candidates.first()
    if programme is None:
        return None
    Programme.objects.filter(pk=programme.pk).update(iom_focal_point=focal_point)
    endorser = Participation.objects.filter(programme=programme, role=Role.ENDORSING_AUTHORITY).first()
    if endorser is None:
        taken = Participation.objects.filter(programme=programme).values_list("organisation_id", flat=True)
        organisation = Organisation.objects.government().exclude(pk__in=taken).order_by("code").first()
        endorser = Participation.objects.create(
            programme=programme, organisation=organisation, role=Role.ENDORSING_AUTHORITY
        )
    demo_document(
        programme,
        title=f"Lettre d'endossement — {endorser.organisation.short_name}",
        category=DocumentCategory.ENDORSEMENT_LETTER,
        issuer=endorser.organisation,
        uploaded_by=focal_point,
    )
    donor = programme.participations.filter(role=Role.FUNDING).select_related("organisation").first()
    signed = demo_document(
        programme,
        title=f"Accord de contribution signé — {donor.organisation.short_name}",
        category=DocumentCategory.AGREEMENT,
        uploaded_by=focal_point,
    )
    ProgrammeAgreement.objects.create(
        programme=programme,
        reference=f"{donor.organisation.acronym or donor.organisation.code}-{programme.planned_start.year}-NE-016",
        signed_on=min(programme.planned_start, TODAY) - timedelta(days=30),
        document=signed,
        recorded_by=focal_point,
    )
    return programme


def _indicator_titles(sector_code: str) -> tuple[str, ...]:
    """The titles of a demo programme's two indicators (IND1, IND2), as its search words list them."""
    _key, name_fr, name_en = _people_indicator(sector_code)
    return (name_fr, name_en, SHARE_INDICATOR[0], SHARE_INDICATOR[1])


def _people_indicator(sector_code: str) -> tuple[str, str, str]:
    return KEY_INDICATOR_OF_SECTOR.get(
        sector_code, (KeyIndicator.NONE, "Personnes ayant bénéficié des activités", "People reached by activities")
    )


SHARE_INDICATOR = (
    "Part des partenaires satisfaits de l'appui de l'OIM",
    "Share of partners satisfied with IOM support",
)
INDICATOR_FIELDS = (
    "programme_id",
    "outcome_id",
    "output_id",
    "code",
    "name_fr",
    "name_en",
    "unit",
    "unit_en",
    "measure",
    "people",
    "cumulative",
    "disaggregated",
    "key_indicator",
    "frequency",
    "baseline",
    "baseline_year",
    "target",
)
VALUE_FIELDS = ("indicator_id", "period_start", "period_end", "sex", "age_group", "target", "achieved")


def _seed_results(rng: random.Random, plan: list, loader: BulkLoader) -> tuple[int, int]:
    outcome_ids = loader.insert(
        Outcome,
        ("programme_id", "code", "statement_fr", "statement_en"),
        [
            (
                p.pk,
                "OC1",
                f"Les capacités nationales en matière de « {s.name_fr} » sont renforcées.",
                f"National capacities in “{s.name_en}” are strengthened.",
            )
            for p, s, _, _ in plan
        ],
    )
    output_ids = loader.insert(
        Output,
        ("outcome_id", "code", "statement_fr", "statement_en"),
        [
            (
                outcome_id,
                "OP1.1",
                "Les bénéficiaires reçoivent une assistance directe.",
                "Beneficiaries receive direct assistance.",
            )
            for outcome_id in outcome_ids
        ],
    )

    # What an indicator is not told takes the model's default, as Indicator(...) gave it.
    default = {name: Indicator._meta.get_field(name).get_default() for name in INDICATOR_FIELDS}
    indicators, value_plan = [], []
    for (programme, sector, start, started), outcome_id, output_id in zip(plan, outcome_ids, output_ids, strict=True):
        key, name_fr, name_en = _people_indicator(sector.code)
        target = Decimal(rng.randrange(100, 5000))
        people = (
            programme.pk,
            None,
            output_id,
            "IND1",
            name_fr,
            name_en,
            "personnes",
            "persons",
            default["measure"],
            True,
            default["cumulative"],
            True,
            key,
            Frequency.YEARLY,  # the demo values are per calendar year
            default["baseline"],
            start.year,  # measured when the programme started
            target,
        )
        baseline = Decimal(rng.randrange(20, 50))
        share_target = Decimal(rng.randrange(70, 95))
        share = (
            programme.pk,
            outcome_id,
            None,
            "IND2",
            *SHARE_INDICATOR,
            "%",
            default["unit_en"],
            "percentage",
            default["people"],
            True,
            default["disaggregated"],
            default["key_indicator"],
            Frequency.YEARLY,
            baseline,
            start.year,
            share_target,
        )
        if started:
            value_plan.append((len(indicators), start, target, programme.planned_end, share_target))
        indicators += [people, share]
    indicator_ids = loader.insert(Indicator, INDICATOR_FIELDS, indicators)

    values = []
    all_sexes = IndicatorValue._meta.get_field("sex").get_default()
    all_ages = IndicatorValue._meta.get_field("age_group").get_default()
    for index, start, target, planned_end, share_target in value_plan:
        people, share = indicator_ids[index], indicator_ids[index + 1]
        for year_offset in (0, 1):
            if start.year + year_offset > TODAY.year:
                continue  # nothing is achieved in the future
            # Calendar-year reporting, within the programme's dates.
            period_start = max(date(start.year + year_offset, 1, 1), start)
            period_end = min(date(start.year + year_offset, 12, 31), planned_end)
            if period_end < period_start:
                continue  # the programme ended before this year began
            period = (period_start, period_end)
            achieved = Decimal(rng.randrange(0, int(target) // 2 + 1))
            # people come whole
            values.append((people, *period, all_sexes, all_ages, (target / 2).quantize(Decimal("1")), achieved))
            female = (achieved * Decimal(rng.randrange(30, 60)) / 100).quantize(Decimal("1"))
            values.append((people, *period, Sex.FEMALE, all_ages, None, female))
            values.append((people, *period, Sex.MALE, all_ages, None, achieved - female))
            children = (achieved * Decimal(rng.randrange(5, 25)) / 100).quantize(Decimal("1"))
            values.append((people, *period, all_sexes, AgeGroup.CHILDREN, None, children))
            values.append((share, *period, all_sexes, all_ages, share_target, Decimal(rng.randrange(40, 100))))
    loader.insert(IndicatorValue, VALUE_FIELDS, values)
    return len(indicators), len(values)
