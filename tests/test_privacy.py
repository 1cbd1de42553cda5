"""No personal data of beneficiaries anywhere; small cells suppressed so that totals cannot reveal them."""

import re
from decimal import Decimal as D

from django.apps import apps

from programmes.privacy import suppress_small_cells

PROJECT_APPS = {"partners", "regions", "programmes", "reports", "reviews", "obligations"}

# Words that betray a field about a person (a migrant, a victim, a returnee...).
PERSONAL = re.compile(
    r"(first_?name|last_?name|full_?name|surname|birth|dob|(^|_)age($|_)|passport|id_?card|document_number|national_id|"
    r"nationality|phone|mobile|e?mail|address|gps|biometric|fingerprint|photo|beneficiary_name|migrant_name|"
    r"victim|returnee|person_name|gender$|religion|ethnic)",
    re.IGNORECASE,
)

# Contact details exist only for portal users and partner focal points; offices and organisations
# have institutional addresses; documents record who uploaded them (a user).
ALLOWED = {
    ("partners", "user", "first_name"),
    ("partners", "user", "last_name"),
    ("partners", "user", "email"),
    ("partners", "focalpoint", "full_name"),
    ("partners", "focalpoint", "email"),
    ("partners", "focalpoint", "phone"),
    ("regions", "office", "address"),
    # The age group of an aggregate count (a disaggregation dimension), not a person's age.
    ("programmes", "indicatorvalue", "age_group"),
}


def test_no_model_has_a_field_that_could_hold_a_beneficiarys_personal_data():
    offending = []
    for model in apps.get_models():
        if model._meta.app_label not in PROJECT_APPS:
            continue
        for field in model._meta.get_fields():
            key = (model._meta.app_label, model._meta.model_name, field.name)
            if PERSONAL.search(field.name) and key not in ALLOWED:
                offending.append(".".join(key))
    assert offending == [], f"fields that could hold personal data: {offending}"


def test_the_check_itself_catches_a_personal_field():
    assert PERSONAL.search("migrant_date_of_birth") and PERSONAL.search("passport_number") and PERSONAL.search("phone")


def test_large_cells_are_shown_as_they_are():
    assert suppress_small_cells(D(100), {"female": D(40), "male": D(60)}, 5) == (
        D(100),
        {"female": D(40), "male": D(60)},
    )


def test_a_small_cell_is_shown_as_below_the_threshold_and_its_complement_is_hidden():
    total, cells = suppress_small_cells(D(100), {"female": D(3), "male": D(97)}, 5)
    assert total == D(100)
    assert cells == {"female": "< 5", "male": "•"}


def test_with_three_cells_the_smallest_other_cell_is_hidden_so_the_small_one_cannot_be_recovered():
    _, cells = suppress_small_cells(D(100), {"0-17": D(2), "18-59": D(60), "60+": D(38)}, 5)
    assert cells["0-17"] == "< 5" and cells["60+"] == "•" and cells["18-59"] == D(60)


def test_a_small_hidden_remainder_hides_a_shown_cell_too():
    # 98 children of 100: showing 98 would reveal that 2 adults were assisted.
    _, cells = suppress_small_cells(D(100), {"0-17": D(98)}, 5)
    assert cells == {"0-17": "•"}


def test_a_small_total_hides_everything():
    total, cells = suppress_small_cells(D(4), {"female": D(1), "male": D(3)}, 5)
    assert total == "< 5" and set(cells.values()) == {"< 5"}


def test_zero_is_not_a_small_cell_but_cannot_expose_its_neighbour():
    _, cells = suppress_small_cells(D(3 + 50), {"female": D(0), "male": D(3), "unknown": D(50)}, 5)
    assert cells["male"] == "< 5"
    assert sum(isinstance(v, str) for v in cells.values()) >= 2


def test_partner_hidden_cells_cover_small_cells_their_complements_and_crossed_cells(programme_a):
    from datetime import date

    from programmes.models import Indicator, IndicatorValue
    from programmes.privacy import cells_hidden_from_partners

    indicator = Indicator.objects.create(programme=programme_a, code="P1", name_fr="Personnes assistées")
    period = {"indicator": indicator, "period_start": date(2025, 1, 1), "period_end": date(2025, 12, 31)}
    total = IndicatorValue.objects.create(**period, achieved=D(40))
    female = IndicatorValue.objects.create(**period, sex="female", achieved=D(3))
    male = IndicatorValue.objects.create(**period, sex="male", achieved=D(37))
    children = IndicatorValue.objects.create(**period, age_group="0-17", achieved=D(20))
    crossed = IndicatorValue.objects.create(**period, sex="female", age_group="0-17", achieved=D(2))

    hidden = cells_hidden_from_partners(list(indicator.values.all()), threshold=5)

    assert hidden == {female.pk, male.pk, crossed.pk}
    assert total.pk not in hidden and children.pk not in hidden


def test_partners_see_a_small_achieved_total_as_below_the_threshold_on_the_programme_page(
    client, partner_a, staff, programme_a
):
    from datetime import date

    from programmes.models import Indicator, IndicatorValue

    indicator = Indicator.objects.create(programme=programme_a, code="P1", name_fr="Victimes assistées", target=D(50))
    IndicatorValue.objects.create(
        indicator=indicator, period_start=date(2025, 1, 1), period_end=date(2025, 12, 31), achieved=D(3)
    )

    client.force_login(partner_a)
    partner_page = client.get(f"/fr/programmes/{programme_a.code}/").content.decode()
    client.force_login(staff)
    staff_page = client.get(f"/fr/programmes/{programme_a.code}/").content.decode()

    assert "&lt; 5" in partner_page and ">3<" not in partner_page.replace(" ", "")
    assert "&lt; 5" not in staff_page


def test_partners_do_not_see_who_at_iom_changed_a_programme_nor_the_reasons(client, partner_a, staff, programme_a):
    from programmes.services import programme_change_status

    programme_change_status(
        programme=programme_a, to_status="suspended", user=staff, reason="Audit interne confidentiel"
    )

    client.force_login(partner_a)
    partner_page = client.get(f"/fr/programmes/{programme_a.code}/").content.decode()
    client.force_login(staff)
    staff_page = client.get(f"/fr/programmes/{programme_a.code}/").content.decode()

    assert "Audit interne confidentiel" in staff_page and staff.username in staff_page
    assert "Audit interne confidentiel" not in partner_page
    assert staff.username not in partner_page
    assert "Suspendu" in partner_page  # the change itself stays visible


def _key_indicator_values(programme, *achieved):
    from datetime import date

    from programmes.models import Indicator, IndicatorValue

    indicator = Indicator.objects.create(
        programme=programme, code="K1", name_fr="Victimes assistées", key_indicator="trafficked_assisted", target=D(50)
    )
    for year, value in zip((2024, 2025), achieved, strict=False):
        IndicatorValue.objects.create(
            indicator=indicator, period_start=date(year, 1, 1), period_end=date(year, 12, 31), achieved=D(value)
        )


def test_a_hidden_period_also_hides_the_overall_sum_for_partners(client, partner_a, programme_a):
    _key_indicator_values(programme_a, 3, 10)
    client.force_login(partner_a)
    page = client.get(f"/fr/programmes/{programme_a.code}/").content.decode()
    assert "&lt; 5" in page
    assert ">13<" not in page.replace(" ", "")


def test_live_key_figures_hide_small_totals_from_partners_in_the_api_and_dashboard(
    client, partner_a, staff, programme_a
):
    _key_indicator_values(programme_a, 3)
    client.force_login(partner_a)
    rows = client.get("/api/v1/key-figures/live/").json()["key_indicators"]
    assert rows == [
        {
            "key": "trafficked_assisted",
            "label": rows[0]["label"],
            "year": 2024,
            "total": None,
            "suppressed": True,
            "partial": False,
        }
    ]
    assert "&lt; 5" in client.get("/fr/").content.decode()
    client.force_login(staff)
    staff_rows = client.get("/api/v1/key-figures/live/").json()["key_indicators"]
    assert [r["total"] for r in staff_rows if r["key"] == "trafficked_assisted"] == ["3.00"]


def test_the_history_does_not_reveal_small_counts_disaggregated_cells_or_iom_documents_to_partners(
    client, partner_a, staff, programme_a
):
    from datetime import date

    from programmes.models import Document, Indicator, IndicatorValue

    indicator = Indicator.objects.create(programme=programme_a, code="P1", name_fr="Victimes assistées", target=D(50))
    period = {"period_start": date(2025, 1, 1), "period_end": date(2025, 12, 31)}
    total = IndicatorValue.objects.create(indicator=indicator, achieved=D(40), **period)
    total.achieved = D(2)
    total.save()
    IndicatorValue.objects.create(indicator=indicator, sex="female", achieved=D(4567), **period)
    Document.objects.create(
        programme=programme_a, title="NOTE-OIM", category="other", visibility="iom_only", file="d/n.pdf"
    )

    client.force_login(partner_a)
    partner_page = client.get(f"/fr/programmes/{programme_a.code}/").content.decode()
    client.force_login(staff)
    staff_page = client.get(f"/fr/programmes/{programme_a.code}/").content.decode()

    start = partner_page.index('id="history-title"')
    history = partner_page[start : partner_page.index("</section>", start)]
    digits = history.replace("\xa0", "").replace("\u202f", "").replace(" ", "")
    assert "40 → &lt; 5" in history and "→2<" not in digits
    assert "4567" not in digits and "NOTE-OIM" not in history
    staff_digits = staff_page.replace("\xa0", "").replace("\u202f", "").replace(" ", "")
    assert "40 → 2" in staff_page and "4567" in staff_digits and "NOTE-OIM" in staff_page
