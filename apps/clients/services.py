"""Writes for clients: create, update, deactivate and reactivate, with e-mail normalisation, and
the bulk import that writes what those write for many rows at once.

Every function runs in one transaction and records `actor` as the history user. A refused write
raises ValidationError (keyed by field) or ApplicationError and leaves the database unchanged.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.clients.models import Client
from apps.clients.signals import clients_saved_in_bulk
from apps.core.errors import ApplicationError
from apps.core.history import CHANGED, CREATED, history_insert

# Fields a caller may set through client_create / client_update; `active` has its own services.
CLIENT_EDITABLE_FIELDS = (
    "name",
    "email",
    "phone",
    "mobile",
    "company",
    "whatsapp_id",
    "billing_address",
    "tax_number",
    "notes",
)


def client_normalize_email(email: str | None) -> str:
    """Strip spaces and lower-case the domain (the local part is the mailbox owner's to spell).

    Matching is case-insensitive anyway (selectors use `iexact`); this keeps stored values tidy.
    """
    email = (email or "").strip()
    if "@" not in email:
        return email
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def _clean_values(data: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(data) - set(CLIENT_EDITABLE_FIELDS))
    if unknown:
        raise ValidationError(
            {name: f"“{name}” cannot be set on a client here." for name in unknown}
        )
    values: dict[str, Any] = {}
    for name, value in data.items():
        value = "" if value is None else value
        if isinstance(value, str):
            value = value.strip()
        values[name] = value
    if "email" in values:
        values["email"] = client_normalize_email(values["email"])
    return values


def _save(client: Client, *, actor) -> None:
    client.full_clean()
    client._history_user = actor
    client.save()


@transaction.atomic
def client_create(
    *,
    name: str,
    email: str = "",
    phone: str = "",
    mobile: str = "",
    company: str = "",
    whatsapp_id: str = "",
    billing_address: str = "",
    tax_number: str = "",
    notes: str = "",
    actor=None,
) -> Client:
    """Create an active client; the name is required, the e-mail must be a valid address."""
    values = _clean_values(
        {
            "name": name,
            "email": email,
            "phone": phone,
            "mobile": mobile,
            "company": company,
            "whatsapp_id": whatsapp_id,
            "billing_address": billing_address,
            "tax_number": tax_number,
            "notes": notes,
        }
    )
    client = Client(**values, active=True)
    _save(client, actor=actor)
    return client


@transaction.atomic
def client_update(*, client: Client, data: Mapping[str, Any], actor=None) -> Client:
    """Change the given fields; nothing is written (and no history row kept) if none differ."""
    values = _clean_values(data)
    changed = {name: value for name, value in values.items() if getattr(client, name) != value}
    if not changed:
        return client
    original = {name: getattr(client, name) for name in changed}
    for name, value in changed.items():
        setattr(client, name, value)
    try:
        _save(client, actor=actor)
    except ValidationError:
        # Leave the caller's object as it was, matching the database.
        for name, value in original.items():
            setattr(client, name, value)
        raise
    return client


def _set_active(client: Client, *, active: bool, actor) -> Client:
    locked = Client.objects.select_for_update().get(pk=client.pk)
    if locked.active == active:
        state = "active" if active else "inactive"
        raise ApplicationError(f"Client “{locked}” is already {state}.", extra={"active": state})
    locked.active = active
    locked._history_user = actor
    locked.save(update_fields=["active", "updated_at"])
    client.active, client.updated_at = locked.active, locked.updated_at
    return client


@transaction.atomic
def client_deactivate(*, client: Client, actor=None) -> Client:
    """Hide a client from new work (tickets, quotes) while keeping its records and history."""
    return _set_active(client, active=False, actor=actor)


@transaction.atomic
def client_reactivate(*, client: Client, actor=None) -> Client:
    return _set_active(client, active=True, actor=actor)


class CheckedClientValues(dict):
    """Values client_import_values returned, unchanged since: clients_import need not check
    them again (an import checks each row once for its preview, not twice). Read-only, so
    that what was checked is what is written."""

    def _refuse(self, *args, **kwargs):
        raise TypeError("Checked client values are read-only; check the new values instead.")

    __setitem__ = __delitem__ = __ior__ = pop = popitem = update = setdefault = clear = _refuse


def client_import_values(data: Mapping[str, Any]) -> CheckedClientValues:
    """The values client_create or client_update would store for `data`, checked field by field
    as their full_clean checks them (blank name, e-mail format, lengths).

    A refusal is a ValidationError keyed by field. Field by field rather than full_clean on an
    instance: an import checks tens of thousands of rows, and only the fields it was given.
    """
    values = _clean_values(data)
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        try:
            values[name] = Client._meta.get_field(name).clean(value, None)
        except ValidationError as error:
            errors[name] = error.messages
    if errors:
        raise ValidationError(errors)
    return CheckedClientValues(values)


def _checked(data: Mapping[str, Any], *, new: bool) -> Mapping[str, Any]:
    if isinstance(data, CheckedClientValues) and (not new or "name" in data):
        return data
    return client_import_values({"name": "", **data} if new else data)


@transaction.atomic
def clients_import(
    *,
    new: Sequence[Mapping[str, Any]],
    changed: Sequence[tuple[Client, Mapping[str, Any]]],
    actor=None,
    reason: str = "",
) -> tuple[list[Client], list[Client]]:
    """Create `new` clients and apply `changed` values to existing ones, in a few statements.

    Writes what client_create and client_update write, in bulk: the rows, one history row per
    client written (`actor` as its user, `reason` as its change reason) and, through
    clients_saved_in_bulk, whatever listeners (sync's outbox) keep for a saved client. Values
    are checked as client_import_values checks them (unless they are its own unchanged result);
    a refusal names the row by its index in
    `new` or `changed` (`new[3].email`) and writes nothing. Clients whose values do not differ
    are left alone, with no history row, as client_update leaves them.
    """
    errors: dict[str, list[str]] = {}
    created: list[Client] = []
    for index, data in enumerate(new):
        try:
            created.append(Client(**_checked(data, new=True), active=True))
        except ValidationError as error:
            errors.update({f"new[{index}].{k}": v for k, v in error.message_dict.items()})
    now = timezone.now()
    updated: list[Client] = []
    fields: set[str] = set()
    for index, (client, data) in enumerate(changed):
        try:
            values = _checked(data, new=False)
        except ValidationError as error:
            errors.update({f"changed[{index}].{k}": v for k, v in error.message_dict.items()})
            continue
        differing = {
            name: value for name, value in values.items() if getattr(client, name) != value
        }
        if not differing:
            continue
        for name, value in differing.items():
            setattr(client, name, value)
        # bulk_update does not touch auto_now fields; the row did change, so its time moves.
        client.updated_at = now
        fields.update(differing)
        updated.append(client)
    if errors:
        raise ValidationError(errors)
    if created:
        created = Client.objects.bulk_create(created, batch_size=500)
        history_insert(created, history_type=CREATED, user=actor, reason=reason, when=now)
    if updated:
        Client.objects.bulk_update(updated, sorted({*fields, "updated_at"}), batch_size=500)
        history_insert(updated, history_type=CHANGED, user=actor, reason=reason, when=now)
    if created or updated:
        clients_saved_in_bulk.send(sender=Client, instances=[*created, *updated])
    return created, updated
