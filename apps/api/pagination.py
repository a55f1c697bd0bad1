"""Cursor pagination: stable under inserts, constant time however deep the page. A bad cursor or
page size is a 400 naming the parameter, not a silent default."""

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination

MAX_PAGE_SIZE = 200


class ApiCursorPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    # The id only grows and never changes: no row is skipped or repeated while paging.
    ordering = "-id"

    def get_page_size(self, request):
        values = request.query_params.getlist(self.page_size_query_param)
        if not values:
            return self.page_size
        try:
            size = int(values[-1])
        except ValueError:
            raise ValidationError({"page_size": "A whole number is required."}) from None
        if not 1 <= size <= self.max_page_size:
            raise ValidationError({"page_size": f"Between 1 and {self.max_page_size}."})
        return size

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationError(
                {"cursor": "Invalid cursor; use a `next` or `previous` link."}
            ) from None

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update({"minimum": 1, "maximum": self.max_page_size})
        return parameters
