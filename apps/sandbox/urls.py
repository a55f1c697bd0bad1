"""URLs of the vendor sandbox, mounted under /sandbox/ when SANDBOX_ENABLED."""

urlpatterns: list = []
