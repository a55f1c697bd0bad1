"""Demo tickets: requests from the demo clients with threads in every status and channel.

`load_demo_tickets()` loads the demo clients first (idempotent itself), then creates each ticket
that is not there yet (matched by client and subject), through the ticket services. Times are
spread over the last weeks so that the lists and the date drill-down look lived in.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from apps.clients.demo import demo_client_rows, load_demo_clients
from apps.clients.selectors import client_find_by_email
from apps.tickets.models import Message, Ticket
from apps.tickets.services import (
    ticket_add_note,
    ticket_change_status,
    ticket_open,
    ticket_receive_message,
    ticket_reply,
)
from apps.users.models import User
from apps.users.roles import AGENT

IN, OUT, NOTE = "in", "out", "note"

# (client position in the demo list, subject, channel, priority, final status, days ago, thread);
# the thread's first entry is the client's opening message.
TICKETS: list[tuple[int, str, str, str, str, int, list[tuple[str, str]]]] = [
    (
        0,
        "Unabridged birth certificate for a Canadian visa",
        "email",
        "high",
        "pending",
        12,
        [
            (
                IN,
                "Good day, I need an unabridged birth certificate for my Canadian study permit. "
                "How long does it take?",
            ),
            (
                OUT,
                "Hi Thandeka, Home Affairs is taking 6 to 8 weeks. We can lodge it this week; "
                "please send a copy of your ID and your parents' IDs.",
            ),
            (IN, "Attached are the copies. Please go ahead."),
            (NOTE, "Lodged at Home Affairs Randburg, reference slip scanned to the file."),
            (OUT, "Lodged today. We will update you as soon as it is printed."),
        ],
    ),
    (
        1,
        "Police clearance for work in the UAE",
        "whatsapp",
        "urgent",
        "open",
        2,
        [
            (IN, "Hi, my employer in Dubai needs a legalised police clearance by month end."),
            (
                NOTE,
                "UAE: DIRCO authentication and embassy legalisation, not an apostille "
                "(confirm current rules). SAPS at 3 weeks; tight.",
            ),
        ],
    ),
    (
        2,
        "Marriage certificate apostille for Portugal",
        "email",
        "normal",
        "resolved",
        30,
        [
            (IN, "We need our marriage certificate apostilled for a Portuguese residency file."),
            (OUT, "We will need the unabridged marriage certificate first; do you have it?"),
            (IN, "Yes, we have the original unabridged one from 2019."),
            (OUT, "Apostilled at DIRCO today; the courier delivers tomorrow morning."),
            (IN, "Received, thank you so much!"),
        ],
    ),
    (
        3,
        "Notarised copies of degree certificates",
        "phone",
        "normal",
        "closed",
        45,
        [
            (IN, "Caller needs five notarised copies of his degree and transcripts for Germany."),
            (OUT, "Your notarised copies are ready for collection at our Cape Town office."),
            (NOTE, "Collected in person, paid by card."),
        ],
    ),
    (
        4,
        "Vault copy for British citizenship by descent",
        "email",
        "high",
        "pending",
        20,
        [
            (IN, "The Home Office asks for a full birth record for my late father. Can you help?"),
            (
                OUT,
                "Yes, that is a vault copy. We need his ID number and a copy of his death "
                "certificate.",
            ),
            (IN, "I only have his ID number; the death certificate is with my brother."),
            (OUT, "That is fine to start. Please send the death certificate when you have it."),
        ],
    ),
    (
        5,
        "Letter of no impediment",
        "web",
        "normal",
        "open",
        1,
        [
            (IN, "I am getting married in Mauritius in March and need a letter of no impediment."),
        ],
    ),
    (
        6,
        "Correction of surname spelling on ID",
        "phone",
        "low",
        "open",
        6,
        [
            (
                IN,
                "Client's surname is Mahlangu on her birth certificate but Mahlangi on her ID.",
            ),
            (NOTE, "Needs HA-AMD plus affidavit; booked a consultation for Thursday."),
            (OUT, "Please bring both documents to Thursday's appointment at 10:00."),
        ],
    ),
    (
        7,
        "Sworn translation of Afrikaans will",
        "email",
        "normal",
        "resolved",
        18,
        [
            (
                IN,
                "I need my grandmother's will (6 pages, Afrikaans) translated for a Dutch notary.",
            ),
            (OUT, "Quote sent: 6 pages of sworn translation plus courier."),
            (IN, "Accepted, please proceed."),
            (OUT, "The sworn translation is attached and the hard copy is on its way."),
        ],
    ),
    (
        8,
        "Courier of originals to Durban",
        "whatsapp",
        "low",
        "closed",
        40,
        [
            (IN, "Please send my apostilled documents to my mother in Durban."),
            (OUT, "Sent overnight express, waybill 7723-1184."),
            (IN, "She has them, thanks."),
        ],
    ),
    (
        9,
        "Fingerprints for FBI background check",
        "phone",
        "normal",
        "pending",
        9,
        [
            (IN, "Needs FD-258 fingerprint cards for a US green card application."),
            (OUT, "We can take the prints on Monday at 09:00 at our Northcliff office."),
            (NOTE, "Client asked whether two sets are needed; told him yes to be safe."),
        ],
    ),
    (
        10,
        "Death certificate for an estate",
        "email",
        "high",
        "open",
        3,
        [
            (
                IN,
                "My father passed away last month. The bank wants an unabridged death "
                "certificate for the estate.",
            ),
            (OUT, "Our condolences, Priya. We can apply this week; the executor's letter helps."),
            (IN, "The attorney is sending the letter of executorship today."),
        ],
    ),
    (
        11,
        "Police clearance status check",
        "whatsapp",
        "normal",
        "resolved",
        25,
        [
            (IN, "Any news on my police clearance? It has been four weeks."),
            (NOTE, "CRC says finalised, in the dispatch queue."),
            (OUT, "Good news: it is finalised. We collect it on Wednesday."),
            (IN, "Great, please courier it to my office."),
        ],
    ),
    (
        12,
        "Apostille for school records (Netherlands)",
        "web",
        "normal",
        "open",
        4,
        [
            (IN, "Our daughter's school records need an apostille for a school in Amsterdam."),
        ],
    ),
    (
        13,
        "Power of attorney for property sale",
        "phone",
        "high",
        "pending",
        8,
        [
            (
                IN,
                "Caller living in Namibia needs a notarial power of attorney to sell a flat in "
                "Bellville.",
            ),
            (OUT, "Draft power of attorney attached; please check the property description."),
        ],
    ),
    (
        14,
        "Lost unabridged birth certificate",
        "whatsapp",
        "normal",
        "closed",
        60,
        [
            (IN, "I lost my unabridged certificate, can I get another one?"),
            (OUT, "Yes, a new one can be issued. Application lodged today."),
            (OUT, "Your certificate is ready; delivered by courier this morning."),
            (IN, "Received, thank you."),
        ],
    ),
    (
        15,
        "Document check before Schengen appointment",
        "email",
        "normal",
        "resolved",
        15,
        [
            (IN, "My VFS appointment is next week; can you check my documents?"),
            (OUT, "Bank statements need the bank's stamp; everything else is in order."),
            (IN, "Stamped copies attached."),
            (OUT, "All good now. Good luck with the appointment!"),
        ],
    ),
    (
        16,
        "Marital status letter for a wedding in Italy",
        "email",
        "normal",
        "open",
        5,
        [
            (IN, "We are marrying in Tuscany in June; the comune asks for proof of single status."),
            (NOTE, "Italy also wants a sworn Italian translation; check with the translator."),
        ],
    ),
    (
        17,
        "Urgent apostille needed by Friday",
        "phone",
        "urgent",
        "open",
        0,
        [
            (
                IN,
                "Caller flies to Spain on Saturday and needs a police clearance apostilled by "
                "Friday.",
            ),
            (NOTE, "Escalate: ask DIRCO liaison whether Thursday drop-off can be done same day."),
        ],
    ),
    (
        18,
        "Courier rates to Australia",
        "web",
        "low",
        "resolved",
        22,
        [
            (IN, "How much is it to courier documents to Perth?"),
            (OUT, "The international document courier is R1,450 and takes 3 to 5 working days."),
        ],
    ),
    (
        19,
        "Retention of citizenship application",
        "email",
        "high",
        "pending",
        14,
        [
            (IN, "I am taking up German citizenship and must keep my South African one."),
            (
                OUT,
                "We will prepare the DHA-529. Please send a motivation letter and proof of ties "
                "to South Africa.",
            ),
            (NOTE, "Motivation letter template sent separately."),
        ],
    ),
    (
        38,
        "Twelve police clearances for new hires",
        "email",
        "high",
        "open",
        3,
        [
            (
                IN,
                "We are onboarding twelve mine engineers and need police clearances for all of "
                "them.",
            ),
            (OUT, "We can send a fingerprint officer to your Sandton office. Which day suits?"),
            (IN, "Tuesday morning would work, 08:00 to 12:00."),
        ],
    ),
    (
        39,
        "Apostilles for a client's company documents",
        "email",
        "normal",
        "resolved",
        28,
        [
            (
                IN,
                "Our client needs the CIPC registration certificate and a board resolution "
                "apostilled for Mauritius.",
            ),
            (OUT, "Both notarised and apostilled at the High Court; collecting tomorrow."),
            (IN, "Perfect, please add it to our monthly invoice."),
        ],
    ),
    (
        40,
        "Monthly relocation paperwork batch",
        "email",
        "normal",
        "pending",
        10,
        [
            (IN, "Attached are this month's eight files for UK relocation clients."),
            (NOTE, "Two files missing marriage certificates; asked Sarah."),
            (OUT, "Two of the eight files need unabridged marriage certificates before we start."),
        ],
    ),
    (
        41,
        "Invoice query on disbursements",
        "phone",
        "low",
        "closed",
        35,
        [
            (IN, "Rajesh asked why the SAPS fee shows without VAT."),
            (OUT, "Disbursements are passed on at cost and carry no VAT; explained on the call."),
        ],
    ),
    (
        44,
        "Board resolution notarisation",
        "whatsapp",
        "normal",
        "open",
        1,
        [
            (IN, "Can a notary come to our office to sign a board resolution tomorrow?"),
        ],
    ),
    (
        45,
        "Au pair police clearances",
        "email",
        "normal",
        "resolved",
        19,
        [
            (IN, "Three of our au pairs need police clearances for US J-1 visas."),
            (OUT, "All three fingerprinted today; expect 3 to 4 weeks."),
            (OUT, "All three certificates are back and couriered to your office."),
        ],
    ),
    (
        46,
        "Export documents legalisation",
        "email",
        "high",
        "pending",
        7,
        [
            (IN, "Certificates of origin need legalisation at the Chinese embassy."),
            (
                OUT,
                "China has joined the Apostille Convention, so an apostille now suffices; "
                "we will arrange it.",
            ),
        ],
    ),
    (
        47,
        "Qualification verification for nurses",
        "web",
        "normal",
        "open",
        2,
        [
            (
                IN,
                "We need certified and legalised nursing diplomas for five candidates going to "
                "Kuwait.",
            ),
            (
                NOTE,
                "Check whether Kuwait accepts an apostille; if not, DIRCO authentication "
                "and embassy legalisation.",
            ),
        ],
    ),
]


def _agents() -> list[User]:
    return list(
        User.objects.filter(groups__name=AGENT, is_active=True, is_staff=True).order_by("email")
    )


@transaction.atomic
def load_demo_tickets(*, actor=None) -> dict[str, int]:
    """Create the demo tickets not already there; returns how many tickets and messages."""
    load_demo_clients(actor=actor)
    emails = [row["email"] for row in demo_client_rows()]
    agents = _agents()
    staff = actor or (agents[0] if agents else None)
    now = timezone.now()
    created_tickets = created_messages = 0
    for position, scenario in enumerate(TICKETS):
        client_index, subject, channel, priority, status, days_ago, thread = scenario
        client = client_find_by_email(email=emails[client_index])
        if client is None or Ticket.objects.filter(client=client, subject=subject).exists():
            continue
        assignee = agents[position % len(agents)] if agents and position % 5 else None
        author = assignee or staff
        (_, opening), rest = thread[0], thread[1:]
        ticket = ticket_open(
            client=client,
            subject=subject,
            channel=channel,
            priority=priority,
            body=opening,
            assignee=assignee,
            created_by=None if channel in ("email", "web", "whatsapp") else author,
        )
        for kind, body in rest:
            if kind == IN:
                ticket_receive_message(ticket=ticket, body=body)
            elif author is None:
                continue  # no staff user to write replies as
            elif kind == NOTE:
                ticket_add_note(ticket=ticket, author=author, body=body)
            else:
                ticket_reply(ticket=ticket, author=author, body=body)
        if status in ("resolved", "closed", "pending"):
            ticket_change_status(
                ticket=ticket, status="pending" if status == "pending" else "resolved", actor=author
            )
        if status == "closed":
            ticket_change_status(ticket=ticket, status="closed", actor=author)
        _spread_over_time(ticket, start=now - timedelta(days=days_ago, hours=position % 9))
        created_tickets += 1
        created_messages += ticket.messages.count()
    return {"tickets": created_tickets, "messages": created_messages}


def _spread_over_time(ticket: Ticket, *, start) -> None:
    """Backdate the ticket and its thread: demo data that all happened this second looks fake.

    A queryset update, not a change of the ticket, so no history rows are added for it.
    """
    moment = start
    for message in ticket.messages.order_by("id"):
        Message.objects.filter(pk=message.pk).update(created_at=moment, updated_at=moment)
        moment += timedelta(hours=5)
    Ticket.objects.filter(pk=ticket.pk).update(
        created_at=start, updated_at=min(moment, timezone.now())
    )
