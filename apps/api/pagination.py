"""Cursor pagination: stable under inserts, constant time however deep the page."""

from rest_framework.pagination import CursorPagination


class ApiCursorPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    # The id only grows and never changes: no row is skipped or repeated while paging.
    ordering = "-id"
