"""Storage URLs: the password never shows, whatever form the URL gives it in."""

from __future__ import annotations

import pytest

from gentune.errors import StorageError
from gentune.tuning.storage import open_storage, redact

SECRET = "s3cret"


@pytest.mark.parametrize("url, shown", [
    ("postgresql://user:s3cret@db/gentune", "postgresql://user:***@db/gentune"),
    ("postgresql+psycopg://user:s3cret@db:5432/gentune",
     "postgresql+psycopg://user:***@db:5432/gentune"),
    ("postgresql://:s3cret@db/gentune", "postgresql://:***@db/gentune"),
    ("postgresql://user@db/gentune?password=s3cret", "postgresql://user@db/gentune"),
    ("postgresql://user@db/gentune?sslmode=require&Password=s3cret",
     "postgresql://user@db/gentune?sslmode=require"),
    ("postgresql://user:s3cret@ss@db/gentune", "postgresql://***@db/gentune"),
    ("postgresql://user:s3c%40ret@db/gentune", "postgresql://user:***@db/gentune"),
    ("postgresql://user:s3c?ret/x@db/gentune", "postgresql://user:***@db/gentune"),
    ("postgresql://u:a@s3cret@db/g?password=x@s3cret", "postgresql://***@db/g?password=***"),
    ("runs/demo/study.journal", "runs/demo/study.journal"),
])
def test_redact_hides_every_form_of_password(url: str, shown: str) -> None:
    assert redact(url) == shown


@pytest.mark.parametrize("url", [
    "postgresql://user:s3cret@127.0.0.1:1/test",
    "postgresql://:s3cret@127.0.0.1:1/test",
    "postgresql://user@127.0.0.1:1/test?password=s3cret",
    "postgresql://user:s3c%40ret@127.0.0.1:1/test",
])
def test_a_storage_that_cannot_be_opened_never_shows_the_password(url: str) -> None:
    with pytest.raises(StorageError) as error:
        open_storage(url)  # nothing listens on port 1
    message = str(error.value)
    assert message.startswith(f"cannot open the storage '{redact(url)}': ")
    assert SECRET not in message and "s3c" not in message


def test_an_unencoded_at_sign_in_a_password_is_refused_before_connecting() -> None:
    # The driver would look for a host named after the password's tail, and say so.
    with pytest.raises(StorageError) as error:
        open_storage("postgresql://postgres:pa@ss-tail@127.0.0.1/test")
    assert str(error.value) == (
        "the storage URL 'postgresql://***@127.0.0.1/test' has an '@' in its user name or "
        "password; write it as %40 (postgresql://user:p%40ss@host/db)")
