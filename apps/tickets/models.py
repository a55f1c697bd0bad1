"""Tickets and their messages: a client's request, its thread, who works it and where it stands."""

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from apps.clients.models import Client
from apps.core.models import TimeStampedModel


class Ticket(TimeStampedModel):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PENDING = "pending", "Pending (waiting on the client)"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"

    class Priority(models.TextChoices):
        LOW = "low", "Low"
        NORMAL = "normal", "Normal"
        HIGH = "high", "High"
        URGENT = "urgent", "Urgent"

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        WHATSAPP = "whatsapp", "WhatsApp"
        PHONE = "phone", "Phone"
        WEB = "web", "Web"

    subject = models.CharField(max_length=200)
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="tickets")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    priority = models.CharField(max_length=20, choices=Priority.choices, default=Priority.NORMAL)
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.EMAIL)
    # Only active staff may be given a ticket (ticket_check_assignee, the admin's choices); not a
    # limit_choices_to, which full_clean would apply to the current assignee too and so freeze
    # every ticket of someone who has left.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
    )
    due = models.DateTimeField(null=True, blank=True)
    # Null when the ticket came in on its own (an inbound e-mail or WhatsApp message, a sync).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="created_tickets",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-updated_at"], name="tickets_status_updated"),
            models.Index(fields=["assignee", "status"], name="tickets_assignee_status"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}" if self.pk else self.subject


class Message(TimeStampedModel):
    class Direction(models.TextChoices):
        INBOUND = "in", "Inbound (from the client)"
        OUTBOUND = "out", "Outbound (from staff)"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    # Null for inbound messages: the client wrote them, not a staff user.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="ticket_messages",
    )
    direction = models.CharField(max_length=3, choices=Direction.choices)
    body = models.TextField()
    is_internal_note = models.BooleanField(
        "internal note", default=False, help_text="Seen by staff only; never sent to the client."
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="tickets_message_thread")]
        constraints = [
            # A note is written by staff; an inbound message cannot be one.
            models.CheckConstraint(
                condition=~models.Q(is_internal_note=True, direction="in"),
                name="tickets_message_note_is_outbound",
            ),
        ]

    def __str__(self) -> str:
        kind = "Note" if self.is_internal_note else self.get_direction_display().split(" ")[0]
        return f"{kind} on ticket #{self.ticket_id}"
