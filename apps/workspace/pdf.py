"""Quote and invoice PDFs (WeasyPrint) with the business's details; also the attachment the
domain's "sent" e-mails ask for through settings.DOCUMENT_PDF_RENDERER.

WeasyPrint may fetch nothing from outside: the logo is inlined as a data: URI and every other
URL is refused (a URLFetcher allowing data: only), so a crafted address cannot read local
files (ecosystem-notes §10).
"""

import base64

from django.template.loader import render_to_string
from django.utils import timezone

from apps.workspace.services import business_profile_get


class PdfUnavailable(RuntimeError):
    """WeasyPrint or its system libraries (Pango) are missing on this machine."""


def document_pdf(*, kind: str, document) -> bytes:
    """The PDF of a quote or an invoice (`kind` "quote" or "invoice")."""
    try:
        import weasyprint
    except (ImportError, OSError) as error:  # OSError: Pango's shared libraries not found
        raise PdfUnavailable(str(error)) from error
    profile = business_profile_get()
    logo = ""
    if profile.logo:
        encoded = base64.b64encode(bytes(profile.logo)).decode()
        logo = f"data:{profile.logo_content_type or 'image/png'};base64,{encoded}"
    html = render_to_string(
        "workspace/pdf/document.html",
        {
            "kind": kind,
            "document": document,
            "lines": list(document.lines.all()),
            "payments": list(document.payments.all()) if kind == "invoice" else [],
            "profile": profile,
            "logo": logo,
            "printed": timezone.localdate(),
        },
    )
    fetcher = weasyprint.URLFetcher(allowed_protocols=("data",), fail_on_errors=False)
    return weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf()


def document_pdf_attachment(*, kind: str, document) -> tuple[str, bytes, str] | None:
    """(filename, bytes, mimetype) for the "sent" e-mail; None when PDFs cannot be made here
    (the e-mail then goes without it rather than not at all)."""
    try:
        content = document_pdf(kind=kind, document=document)
    except PdfUnavailable:
        return None
    return f"{document.number}.pdf", content, "application/pdf"
