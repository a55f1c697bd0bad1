"""REST API v1: serializers and thin views over the domain's and sync's services and selectors."""
