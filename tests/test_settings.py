"""Production settings pass `check --deploy` when given real values."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "PYTEST"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="p" * 20 + "-k9Xq2Lm7Vt4Rw8Zs1Nc5Bh3Jd6Fg0Ye" + "a1b2c3d4e5",
        ALLOWED_HOSTS="office.example.com",
        TOKEN_ENCRYPTION_KEYS="7pua8RzOwtgfLbU-uTbNpKruq4GizGpljlG_MvGCU4Y=",
        DATABASE_URL=f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        EMAIL_URL="smtp+tls://mailer:secret@smtp.example.com:587",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.pop("SECRET_KEY", None)
    env.update(DJANGO_SETTINGS_MODULE="config.settings.production", ALLOWED_HOSTS="x.example.com")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_an_empty_database_url_means_sqlite(tmp_path):
    """A .env copied from .env.example leaves DATABASE_URL empty: that must mean the default."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.local", DATABASE_URL="")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings;"
            " print(settings.DATABASES['default']['ENGINE'])",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.sqlite3"


def test_production_requires_a_real_mail_server(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.pop("EMAIL_URL", None)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="x" * 60,
        ALLOWED_HOSTS="office.example.com",
        TOKEN_ENCRYPTION_KEYS="7pua8RzOwtgfLbU-uTbNpKruq4GizGpljlG_MvGCU4Y=",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "EMAIL_URL" in result.stderr


def _production_check(tmp_path, **overrides) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "PYTEST"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="p" * 20 + "-k9Xq2Lm7Vt4Rw8Zs1Nc5Bh3Jd6Fg0Ye" + "a1b2c3d4e5",
        ALLOWED_HOSTS="office.example.com",
        TOKEN_ENCRYPTION_KEYS="7pua8RzOwtgfLbU-uTbNpKruq4GizGpljlG_MvGCU4Y=",
        DATABASE_URL=f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        EMAIL_URL="smtp+tls://mailer:secret@smtp.example.com:587",
    )
    env.update(overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("TOKEN_ENCRYPTION_KEYS", ",", "TOKEN_ENCRYPTION_KEYS holds no key"),
        ("TOKEN_ENCRYPTION_KEYS", "not-a-fernet-key", "key 1 is not a Fernet key"),
        (
            "TOKEN_ENCRYPTION_KEYS",
            "7pua8RzOwtgfLbU-uTbNpKruq4GizGpljlG_MvGCU4Y=,short",
            "key 2 is not a Fernet key",
        ),
        ("SECRET_KEY", "", "SECRET_KEY is empty"),
        ("SECRET_KEY", "   ", "SECRET_KEY is empty"),
    ],
)
def test_production_refuses_to_start_with_unusable_keys(tmp_path, variable, value, says):
    """Issue 11, item 8: these passed `check --deploy` and failed at first use."""
    result = _production_check(tmp_path, **{variable: value})
    assert result.returncode != 0
    assert says in result.stderr
    assert "ImproperlyConfigured" in result.stderr


@pytest.mark.parametrize(
    ("broker", "redis_url", "says"),
    [
        ("orm", "", "orm=default"),
        ("redis", "redis://127.0.0.1:6379/3", "redis=redis://127.0.0.1:6379/3"),
        ("redis", "", "Q_BROKER=redis needs REDIS_URL"),
        ("rabbit", "", "Q_BROKER must be orm or redis, not 'rabbit'"),
    ],
)
def test_production_task_broker_is_chosen_by_q_broker(tmp_path, broker, redis_url, says):
    """The broker only wakes workers; Q_BROKER picks it, and a wrong value refuses to start."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "PYTEST", "REDIS_URL", "Q_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="p" * 20 + "-k9Xq2Lm7Vt4Rw8Zs1Nc5Bh3Jd6Fg0Ye" + "a1b2c3d4e5",
        ALLOWED_HOSTS="office.example.com",
        TOKEN_ENCRYPTION_KEYS="7pua8RzOwtgfLbU-uTbNpKruq4GizGpljlG_MvGCU4Y=",
        DATABASE_URL=f"sqlite:///{tmp_path / 'broker.sqlite3'}",
        EMAIL_URL="smtp+tls://mailer:secret@smtp.example.com:587",
        Q_BROKER=broker,
        REDIS_URL=redis_url,
    )
    code = (
        "import django; django.setup(); from django.conf import settings; q = settings.Q_CLUSTER;"
        " print(f\"orm={q.get('orm')}\" if 'orm' in q else f\"redis={q['redis']}\")"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert says in result.stdout + result.stderr
    assert (result.returncode == 0) == says.startswith(("orm=", "redis="))
