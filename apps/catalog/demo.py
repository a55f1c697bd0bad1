"""Demo catalogue: a South African document-services business, loaded through the services.

`load_demo_catalog()` is idempotent: tax rates are matched by name and services by SKU, so a
second run creates nothing.
"""

from decimal import Decimal

from django.db import transaction

from apps.catalog.models import TaxRate
from apps.catalog.selectors import service_get_by_sku
from apps.catalog.services import service_create, tax_rate_create

VAT = "VAT 15%"
NO_VAT = "No VAT (disbursement)"

TAX_RATES = [(VAT, Decimal("15.000")), (NO_VAT, Decimal("0.000"))]

HOME_AFFAIRS = "Home Affairs certificates"
APOSTILLE = "Apostille and authentication"
POLICE = "Police clearance"
NOTARY = "Notary"
COURIER = "Courier"
TRANSLATION = "Sworn translation"
IMMIGRATION = "Visa and immigration support"
CONSULTING = "Consultation"

# (sku, name, category, rate in ZAR, unit, tax rate, description)
SERVICES: list[tuple[str, str, str, str, str, str, str]] = [
    (
        "HA-UBC",
        "Unabridged birth certificate application",
        HOME_AFFAIRS,
        "1450.00",
        "Each",
        VAT,
        "We lodge the BI-154 application at Home Affairs, track it and collect the certificate.",
    ),
    (
        "HA-UMC",
        "Unabridged marriage certificate application",
        HOME_AFFAIRS,
        "1450.00",
        "Each",
        VAT,
        "Application, tracking and collection of an unabridged marriage certificate.",
    ),
    (
        "HA-UDC",
        "Unabridged death certificate application",
        HOME_AFFAIRS,
        "1450.00",
        "Each",
        VAT,
        "For estates and insurance claims; includes tracking and collection.",
    ),
    (
        "HA-VAULT",
        "Vault copy of birth record",
        HOME_AFFAIRS,
        "2950.00",
        "Each",
        VAT,
        "Full copy of the original birth register entry, often asked for by foreign citizenship "
        "offices.",
    ),
    (
        "HA-LNI",
        "Letter of no impediment",
        HOME_AFFAIRS,
        "1650.00",
        "Each",
        VAT,
        "Confirms marital status for a marriage abroad; application and follow-up.",
    ),
    (
        "HA-MSL",
        "Marital status letter",
        HOME_AFFAIRS,
        "1350.00",
        "Each",
        VAT,
        "Home Affairs letter confirming the current marital status on the population register.",
    ),
    (
        "HA-CIT",
        "Citizenship confirmation letter",
        HOME_AFFAIRS,
        "1850.00",
        "Each",
        VAT,
        "Confirmation of South African citizenship, for dual-citizenship and passport matters.",
    ),
    (
        "HA-RET",
        "Retention of citizenship application",
        HOME_AFFAIRS,
        "3950.00",
        "Each",
        VAT,
        "Preparing and lodging the DHA-529 before taking up a foreign citizenship.",
    ),
    (
        "HA-AMD",
        "Amendment of particulars on the population register",
        HOME_AFFAIRS,
        "2500.00",
        "Each",
        VAT,
        "Correcting a surname, date of birth or spelling, with supporting affidavits.",
    ),
    (
        "HA-LATE",
        "Late registration of birth assistance",
        HOME_AFFAIRS,
        "3500.00",
        "Each",
        VAT,
        "Gathering the evidence and guiding the family through a late birth registration.",
    ),
    (
        "HA-FEE",
        "Home Affairs fee (disbursement)",
        HOME_AFFAIRS,
        "75.00",
        "Each",
        NO_VAT,
        "The department's own fee for an unabridged certificate, passed on at cost.",
    ),
    (
        "APO-DIRCO",
        "Apostille at DIRCO",
        APOSTILLE,
        "950.00",
        "Document",
        VAT,
        "Apostille by the Department of International Relations and Cooperation for public "
        "documents (Home Affairs, SAPS, education).",
    ),
    (
        "APO-HC",
        "Apostille at the High Court",
        APOSTILLE,
        "850.00",
        "Document",
        VAT,
        "Apostille by the Registrar of the High Court for notarised and court documents.",
    ),
    (
        "APO-AUTH",
        "DIRCO authentication for non-Hague countries",
        APOSTILLE,
        "1150.00",
        "Document",
        VAT,
        "Authentication certificate for countries outside the Hague Apostille Convention.",
    ),
    (
        "APO-EMB",
        "Embassy legalisation handling",
        APOSTILLE,
        "1950.00",
        "Document",
        VAT,
        "Submitting authenticated documents to the embassy for legalisation and collecting them.",
    ),
    (
        "APO-URG",
        "Urgent apostille (same week)",
        APOSTILLE,
        "1650.00",
        "Document",
        VAT,
        "Priority handling at DIRCO or the High Court, subject to their queues.",
    ),
    (
        "APO-CHK",
        "Document pre-check for apostille",
        APOSTILLE,
        "250.00",
        "Document",
        VAT,
        "We check signatures, stamps and originals before submission so nothing is rejected.",
    ),
    (
        "PCC-APP",
        "Police clearance certificate application",
        POLICE,
        "1250.00",
        "Each",
        VAT,
        "Fingerprints, SAPS 91(a) form and lodging at the Criminal Record Centre in Pretoria.",
    ),
    (
        "PCC-FP",
        "Fingerprint capture (mobile)",
        POLICE,
        "650.00",
        "Each",
        VAT,
        "A fingerprint officer visits your home or office.",
    ),
    (
        "PCC-FBI",
        "FBI-standard fingerprint card (FD-258)",
        POLICE,
        "550.00",
        "Each",
        VAT,
        "Rolled fingerprints on the FD-258 card for United States and Canadian applications.",
    ),
    (
        "PCC-TRK",
        "Police clearance tracking and collection",
        POLICE,
        "450.00",
        "Each",
        VAT,
        "Weekly status checks with the Criminal Record Centre and collection when ready.",
    ),
    (
        "PCC-BUNDLE",
        "Police clearance with apostille",
        POLICE,
        "2100.00",
        "Each",
        VAT,
        "Application, collection and DIRCO apostille in one bundle.",
    ),
    (
        "PCC-FEE",
        "SAPS clearance fee (disbursement)",
        POLICE,
        "180.00",
        "Each",
        NO_VAT,
        "The SAPS fee for a police clearance certificate, passed on at cost.",
    ),
    (
        "NOT-TC",
        "Notarial certificate of true copy",
        NOTARY,
        "450.00",
        "Document",
        VAT,
        "A notary certifies a copy as a true copy of the original, for use abroad.",
    ),
    (
        "NOT-SIG",
        "Notarised signature attestation",
        NOTARY,
        "550.00",
        "Document",
        VAT,
        "The notary witnesses and attests your signature.",
    ),
    (
        "NOT-POA",
        "Notarial power of attorney",
        NOTARY,
        "1850.00",
        "Each",
        VAT,
        "Drafting and executing a power of attorney before a notary.",
    ),
    (
        "NOT-AFF",
        "Sworn affidavit drafting",
        NOTARY,
        "350.00",
        "Each",
        VAT,
        "Drafting an affidavit and having it commissioned.",
    ),
    (
        "NOT-COC",
        "Commissioner of oaths certified copy",
        NOTARY,
        "35.00",
        "Page",
        VAT,
        "Certified copies for local use, per page.",
    ),
    (
        "NOT-BIND",
        "Notarial binding (ribbon and seal)",
        NOTARY,
        "180.00",
        "Document",
        VAT,
        "Binding a multi-page document with ribbon and notarial seal.",
    ),
    (
        "CUR-LOC",
        "Courier within the same city",
        COURIER,
        "150.00",
        "Each",
        VAT,
        "Collection or delivery of documents within Johannesburg, Pretoria, Cape Town or Durban.",
    ),
    (
        "CUR-NAT",
        "Courier door to door (national)",
        COURIER,
        "220.00",
        "Each",
        VAT,
        "Next-day road or air courier between South African main centres.",
    ),
    (
        "CUR-OVN",
        "Overnight express courier",
        COURIER,
        "320.00",
        "Each",
        VAT,
        "Guaranteed next-morning delivery to main centres.",
    ),
    (
        "CUR-INT",
        "International document courier",
        COURIER,
        "1450.00",
        "Each",
        VAT,
        "Express document envelope to Europe, the UK, North America or Australia.",
    ),
    (
        "CUR-DIRCO",
        "DIRCO drop-off and collection run",
        COURIER,
        "380.00",
        "Each",
        VAT,
        "Delivering documents to DIRCO's legalisation section in Pretoria and collecting them.",
    ),
    (
        "CUR-REG",
        "Registered post return",
        COURIER,
        "120.00",
        "Each",
        VAT,
        "Returning originals by SAPO registered post with tracking.",
    ),
    (
        "TRN-AFR",
        "Sworn translation Afrikaans/English",
        TRANSLATION,
        "480.00",
        "Page",
        VAT,
        "Translation by a sworn translator of the High Court, per page.",
    ),
    (
        "TRN-FR",
        "Sworn translation French/English",
        TRANSLATION,
        "650.00",
        "Page",
        VAT,
        "Sworn translation for French-speaking countries, per page.",
    ),
    (
        "TRN-PT",
        "Sworn translation Portuguese/English",
        TRANSLATION,
        "650.00",
        "Page",
        VAT,
        "Sworn translation for Portugal, Brazil, Angola and Mozambique, per page.",
    ),
    (
        "TRN-DE",
        "Sworn translation German/English",
        TRANSLATION,
        "720.00",
        "Page",
        VAT,
        "Sworn translation for German-speaking countries, per page.",
    ),
    (
        "VIS-PACK",
        "Visa application document pack",
        IMMIGRATION,
        "1750.00",
        "Each",
        VAT,
        "Checklist, certified copies and cover letter for a visa application.",
    ),
    (
        "VIS-SCH",
        "Schengen visa appointment assistance",
        IMMIGRATION,
        "950.00",
        "Each",
        VAT,
        "Booking the VFS or BLS appointment and checking the file before the visit.",
    ),
    (
        "VIS-UK",
        "UK visa supporting documents review",
        IMMIGRATION,
        "1250.00",
        "Each",
        VAT,
        "Review of bank statements, letters and translations before submission.",
    ),
    (
        "CON-30",
        "Document consultation (30 minutes)",
        CONSULTING,
        "350.00",
        "Session",
        VAT,
        "Which documents you need, in which order, for your country of destination.",
    ),
    (
        "CON-HR",
        "Administrative work",
        CONSULTING,
        "550.00",
        "Hour",
        VAT,
        "Form filling, queueing and follow-up work billed by the hour.",
    ),
    (
        "CON-RUSH",
        "Rush handling surcharge",
        CONSULTING,
        "500.00",
        "Each",
        VAT,
        "Priority in our own queue when a deadline is close.",
    ),
]


@transaction.atomic
def load_demo_catalog(*, actor=None) -> dict[str, int]:
    """Create the demo tax rates and services that are not there yet; returns what it created."""
    rates = {}
    created_rates = 0
    for name, rate in TAX_RATES:
        existing = TaxRate.objects.filter(name=name).first()
        if existing is None:
            existing = tax_rate_create(name=name, rate=rate, actor=actor)
            created_rates += 1
        rates[name] = existing
    created_services = 0
    for sku, name, category, rate, unit, tax_rate, description in SERVICES:
        if service_get_by_sku(sku=sku) is not None:
            continue
        service_create(
            name=name,
            sku=sku,
            category=category,
            rate=Decimal(rate),
            unit=unit,
            tax_rate=rates[tax_rate],
            description=description,
            actor=actor,
        )
        created_services += 1
    return {"tax_rates": created_rates, "services": created_services}
