"""Partner organisations of IOM Niger, their focal points and agreements, and the portal's users."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class OrganisationCategory(models.TextChoices):
    NATIONAL_GOVERNMENT = "national_government", _("National government")
    REGIONAL_AUTHORITY = "regional_authority", _("Regional authority")
    LOCAL_AUTHORITY = "local_authority", _("Local authority")
    UN_MULTILATERAL = "un_multilateral", _("UN / multilateral")
    DONOR = "donor", _("Donor")
    NGO = "ngo", _("NGO")
    PRIVATE_SECTOR = "private_sector", _("Private sector")
    ACADEMIC = "academic", _("Academic")
    IOM = "iom", _("IOM unit")


class IatiOrganisationType(models.TextChoices):
    """IATI OrganisationType codelist (2.03), the subset IOM Niger's partners fall in."""

    GOVERNMENT = "10", _("Government")
    LOCAL_GOVERNMENT = "11", _("Local government")
    OTHER_PUBLIC_SECTOR = "15", _("Other public sector")
    INTERNATIONAL_NGO = "21", _("International NGO")
    NATIONAL_NGO = "22", _("National NGO")
    REGIONAL_NGO = "23", _("Regional NGO")
    PUBLIC_PRIVATE_PARTNERSHIP = "30", _("Public private partnership")
    MULTILATERAL = "40", _("Multilateral")
    FOUNDATION = "60", _("Foundation")
    PRIVATE_SECTOR = "70", _("Private sector")
    ACADEMIC = "80", _("Academic, training and research")
    OTHER = "90", _("Other")


DEFAULT_IATI_TYPE = {
    OrganisationCategory.NATIONAL_GOVERNMENT: IatiOrganisationType.GOVERNMENT,
    OrganisationCategory.REGIONAL_AUTHORITY: IatiOrganisationType.LOCAL_GOVERNMENT,
    OrganisationCategory.LOCAL_AUTHORITY: IatiOrganisationType.LOCAL_GOVERNMENT,
    OrganisationCategory.UN_MULTILATERAL: IatiOrganisationType.MULTILATERAL,
    OrganisationCategory.DONOR: IatiOrganisationType.GOVERNMENT,
    OrganisationCategory.NGO: IatiOrganisationType.INTERNATIONAL_NGO,
    OrganisationCategory.PRIVATE_SECTOR: IatiOrganisationType.PRIVATE_SECTOR,
    OrganisationCategory.ACADEMIC: IatiOrganisationType.ACADEMIC,
    OrganisationCategory.IOM: IatiOrganisationType.MULTILATERAL,
}


def is_iom_staff(user) -> bool:
    """An active IOM staff member; False for partners, anonymous visitors and anyone else."""
    return bool(getattr(user, "is_iom_staff", False))


def partner_organisation_id(user) -> int | None:
    """The organisation an active partner user acts for; None for everyone else."""
    return user.organisation_id if getattr(user, "is_partner", False) else None


class OrganisationQuerySet(models.QuerySet):
    def government(self) -> OrganisationQuerySet:
        return self.filter(category=OrganisationCategory.NATIONAL_GOVERNMENT)

    def funders(self) -> OrganisationQuerySet:
        return self.filter(category__in=[OrganisationCategory.DONOR, OrganisationCategory.IOM])

    def visible_to(self, user) -> OrganisationQuerySet:
        """IOM staff see every organisation; a partner user sees its own organisation only."""
        if is_iom_staff(user):
            return self.all()
        organisation_id = partner_organisation_id(user)
        return self.none() if organisation_id is None else self.filter(pk=organisation_id)


class Organisation(models.Model):
    """An organisation IOM Niger works with: ministry, agency, authority, donor, agency, NGO, IOM unit."""

    code = models.SlugField(
        _("code"),
        max_length=40,
        unique=True,
        help_text=_("Short stable identifier used in URLs, e.g. anltp-tim or gov-ne001."),
    )
    acronym = models.CharField(_("acronym"), max_length=30, blank=True, help_text=_("In French, e.g. UE, HCR."))
    acronym_en = models.CharField(
        _("acronym (English)"), max_length=30, blank=True, help_text=_("When it differs, e.g. EU, UNHCR.")
    )
    name_fr = models.CharField(_("name (French)"), max_length=255)
    name_en = models.CharField(_("name (English)"), max_length=255, blank=True)
    category = models.CharField(_("category"), max_length=30, choices=OrganisationCategory.choices)
    iati_type = models.CharField(
        _("IATI organisation type"),
        max_length=2,
        choices=IatiOrganisationType.choices,
        help_text=_("Code of the IATI OrganisationType codelist, used in IATI exports."),
    )
    iati_identifier = models.CharField(_("IATI identifier"), max_length=100, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        help_text=_("e.g. the Ministry of Planning for INS."),
    )
    admin_unit = models.ForeignKey(
        "regions.AdminUnit",
        verbose_name=_("administrative unit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="authorities",
        help_text=_("Required for regional and local authorities: the region, department or commune they govern."),
    )
    country = models.ForeignKey(
        "regions.Country",
        verbose_name=_("country"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="organisations",
        help_text=_(
            "For a government: the country it governs (an IOM Development Fund regional proposal needs the "
            "endorsement of the governments of its recipient countries)."
        ),
    )
    website = models.URLField(_("website"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name_fr"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(category__in=["regional_authority", "local_authority"]) | Q(admin_unit__isnull=False),
                name="organisation_authority_has_admin_unit",
                violation_error_message=_("A regional or local authority must be linked to its administrative unit."),
            ),
            models.CheckConstraint(
                condition=~Q(parent=models.F("pk")),
                name="organisation_not_own_parent",
                violation_error_message=_("An organisation cannot be its own parent."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.local_acronym} — {self.name}" if self.local_acronym else self.name

    def save(self, *args, **kwargs) -> None:
        if not self.iati_type and self.category:
            self.iati_type = DEFAULT_IATI_TYPE[OrganisationCategory(self.category)]
        super().save(*args, **kwargs)

    @property
    def name(self) -> str:
        """The name in the active language, falling back to French."""
        if get_language() == "en" and self.name_en:
            return self.name_en
        return self.name_fr

    @property
    def local_acronym(self) -> str:
        """The acronym in the active language (UE / EU, HCR / UNHCR), falling back to French."""
        if get_language() == "en" and self.acronym_en:
            return self.acronym_en
        return self.acronym

    @property
    def short_name(self) -> str:
        return self.local_acronym or self.name


class FocalPoint(models.Model):
    """An institutional contact person of a partner organisation (professional details only)."""

    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.CASCADE, related_name="focal_points"
    )
    full_name = models.CharField(_("full name"), max_length=150)
    position = models.CharField(_("position"), max_length=150, blank=True)
    email = models.EmailField(_("professional e-mail"), blank=True)
    phone = models.CharField(_("professional phone"), max_length=40, blank=True)
    is_primary = models.BooleanField(_("primary focal point"), default=False)

    class Meta:
        verbose_name = _("focal point")
        verbose_name_plural = _("focal points")
        ordering = ["-is_primary", "full_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation"],
                condition=Q(is_primary=True),
                name="focal_point_one_primary_per_organisation",
                violation_error_message=_("An organisation has only one primary focal point."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.organisation.short_name})"


class AgreementStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    NEGOTIATION = "negotiation", _("Under negotiation")
    SIGNED = "signed", _("Signed (in force)")
    EXPIRED = "expired", _("Expired")
    TERMINATED = "terminated", _("Terminated")


class AgreementKind(models.TextChoices):
    MOU = "mou", _("Memorandum of understanding")
    COOPERATION = "cooperation", _("Cooperation agreement")
    IMPLEMENTATION = "implementation", _("Implementation agreement")
    DONOR = "donor", _("Donor agreement")


class PartnershipAgreement(models.Model):
    """A partnership agreement (MoU, cooperation or donor agreement) between IOM and an organisation."""

    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.CASCADE, related_name="agreements"
    )
    title = models.CharField(_("title"), max_length=255)
    reference = models.CharField(_("reference"), max_length=60, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=AgreementKind.choices, default=AgreementKind.MOU)
    status = models.CharField(
        _("status"), max_length=20, choices=AgreementStatus.choices, default=AgreementStatus.DRAFT
    )
    signed_on = models.DateField(_("signed on"), null=True, blank=True)
    start_date = models.DateField(_("start date"), null=True, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)
    document = models.FileField(_("document"), upload_to="agreements/%Y/", blank=True)
    notes = models.TextField(_("IOM notes"), blank=True)

    class Meta:
        verbose_name = _("partnership agreement")
        verbose_name_plural = _("partnership agreements")
        ordering = ["-start_date", "title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True)
                | Q(start_date__isnull=True)
                | Q(end_date__gte=models.F("start_date")),
                name="agreement_end_after_start",
                violation_error_message=_("The end date cannot be before the start date."),
            )
        ]

    def __str__(self) -> str:
        return self.title


class PortalUserManager(UserManager):
    """Users, with the one definition of who counts as active IOM staff."""

    use_in_migrations = True

    def iom_staff(self) -> models.QuerySet[User]:
        """Active IOM staff: active, marked as staff, not attached to a partner organisation."""
        return self.filter(is_active=True, is_staff=True, organisation__isnull=True).order_by(
            "last_name", "first_name", "username"
        )


class User(AbstractUser):
    """A person who logs in: IOM staff (no organisation) or a partner user of one organisation."""

    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("partner organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
        help_text=_("Leave empty for IOM staff. A partner user sees only the programmes of this organisation."),
    )
    preferred_language = models.CharField(
        _("preferred language"), max_length=2, choices=[("fr", _("French")), ("en", _("English"))], default="fr"
    )

    objects = PortalUserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=Q(organisation__isnull=True) | Q(is_staff=False, is_superuser=False),
                name="partner_user_is_never_staff",
                violation_error_message=_("A partner user can never be IOM staff or an administrator."),
            )
        ]

    @property
    def is_iom_staff(self) -> bool:
        """IOM staff: active, marked as staff, and not attached to a partner organisation."""
        return self.is_active and self.is_staff and self.organisation_id is None

    @property
    def is_partner(self) -> bool:
        return self.is_active and self.organisation_id is not None

    @property
    def can_edit_programmes(self) -> bool:
        return self.is_iom_staff and self.has_perm("programmes.change_programme")


class ApiTokenQuerySet(models.QuerySet):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True, user__is_active=True)


class ApiToken(models.Model):
    """A personal key for the REST API; only its SHA-256 hash is stored, the secret is shown once."""

    PREFIX_LENGTH = 8
    # Writing last_used_at on every request would turn each read into a write; a minute is precise enough.
    LAST_USED_PRECISION_SECONDS = 60

    user = models.ForeignKey(
        "partners.User", verbose_name=_("user"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(
        _("name"), max_length=100, help_text=_("What the token is for, e.g. INS statistics import.")
    )
    prefix = models.CharField(_("prefix"), max_length=PREFIX_LENGTH, editable=False, db_index=True)
    key_hash = models.CharField(_("key hash (SHA-256)"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    @staticmethod
    def hash_secret(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    @classmethod
    def create_for(cls, user: User, name: str) -> tuple[ApiToken, str]:
        """A new token for the user and its secret, which is never stored and cannot be shown again."""
        secret = secrets.token_hex(20)
        token = cls.objects.create(
            user=user, name=name, prefix=secret[: cls.PREFIX_LENGTH], key_hash=cls.hash_secret(secret)
        )
        return token, secret

    @classmethod
    def authenticate(cls, secret: str) -> ApiToken | None:
        """The active token with this secret (looked up by hash, so timing reveals nothing), or None."""
        token = (
            cls.objects.active().select_related("user__organisation").filter(key_hash=cls.hash_secret(secret)).first()
        )
        if token is not None:
            token.touch()
        return token

    def touch(self) -> None:
        now = timezone.now()
        if self.last_used_at is None or (now - self.last_used_at).total_seconds() >= self.LAST_USED_PRECISION_SECONDS:
            ApiToken.objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
