"""Storage URLs: the password never shows, whatever form the URL gives it in."""

from __future__ import annotations

import re

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
    ("postgresql://user@db/gentune?sslpassword=s3cret&sslmode=require",
     "postgresql://user@db/gentune?sslmode=require"),
    ("postgresql://u:a@b@db/g?sslpassword=s3cret", "postgresql://***@db/g?sslpassword=***"),
    ("runs/demo/study.journal", "runs/demo/study.journal"),
])
def test_redact_hides_every_form_of_password(url: str, shown: str) -> None:
    assert redact(url) == shown


@pytest.mark.parametrize("url", [
    "postgresql://user:s3cret@127.0.0.1:1/test",
    "postgresql://:s3cret@127.0.0.1:1/test",
    "postgresql://user@127.0.0.1:1/test?password=s3cret",
    "postgresql://user:s3c%40ret@127.0.0.1:1/test",
    "postgresql://user@127.0.0.1:1/test?sslpassword=s3cret",
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


@pytest.mark.parametrize("url, fault", [
    ("http://example.org/study", "is not a database URL gentune can use ('http://')"),
    ("postgresql://user:s3cret@127.0.0.1:five/test", "has a port that is not a number ('five')"),
    ("postgresql://user:s3cret@[::1]:x/test", "has a port that is not a number ('x')"),
])
def test_a_url_no_database_can_take_is_refused_in_words(url: str, fault: str) -> None:
    with pytest.raises(StorageError) as error:
        open_storage(url)
    assert str(error.value) == (
        f"the storage{' URL' if 'port' in fault else ''} '{redact(url)}' {fault}; give a "
        f"journal file's path, sqlite:///FILE or postgresql://user:password@host:5432/database")
    assert SECRET not in str(error.value)


@pytest.mark.parametrize("url", [
    "postgresql://user:s3cret@[::1]/test",  # no port to read in an IPv6 address
    "postgresql+psycopg://user@localhost:1/test?sslmode=disable",  # a driver
    "mariadb+pymysql://user:s3cret@localhost:3306/test",
    "postgresql:///test?host=/var/run/postgresql",  # a Unix socket
    "postgresql://user:s3/c?r#e:t@localhost:5432/test",  # what SQLAlchemy takes for a password
])
def test_urls_a_database_takes_pass_the_url_checks(url: str) -> None:
    from gentune.tuning.storage import _check_url

    _check_url(url)


@pytest.mark.parametrize("given, form", [
    ("postgresql:/user:s3cret@db/test", "postgresql://user:password@host/database"),
    ("postgresql//user:s3cret@db/test", "postgresql://user:password@host/database"),
    ("postgres:user:s3cret@db", "postgresql://user:password@host/database"),
    ("sqlite:/tmp/s3cret.db", "sqlite:///FILE"),
])
@pytest.mark.parametrize("existing", [False, True])  # True: worker, report, release --study
def test_a_url_short_of_its_slashes_is_not_taken_for_a_journal_path(tmp_path, monkeypatch,
                                                                   given: str, form: str,
                                                                   existing: bool) -> None:
    monkeypatch.chdir(tmp_path)  # where a journal of that name would be made
    with pytest.raises(StorageError) as error:
        open_storage(given, existing=existing)
    assert str(error.value).endswith(f"URL without '://' (not shown: it may hold a password); "
                                     f"write {form}, or give a journal file's path")
    assert SECRET not in str(error.value) and list(tmp_path.iterdir()) == []


def test_a_journal_in_a_folder_named_after_a_database_opens(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    open_storage("postgres/study.journal")
    assert (tmp_path / "postgres" / "study.journal").is_file()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_sqlite_database_is_refused(url: str) -> None:
    # It would be gone before best.json's storage could be opened again to report on it.
    with pytest.raises(StorageError, match=r"an in-memory SQLite database \(.*\) is gone when "
                                           r"the command ends"):
        open_storage(url)


def test_an_sqlite_file_in_a_new_folder_is_made_as_a_journal_is(tmp_path) -> None:
    open_storage(f"sqlite:///{tmp_path}/new/folder/study.db")
    assert (tmp_path / "new" / "folder" / "study.db").is_file()


def test_an_ipv6_address_left_open_is_named() -> None:
    with pytest.raises(StorageError) as error:
        open_storage("postgresql://user:s3cret@[::1/test")
    assert "opens an IPv6 address with '[' and does not close it (write [::1])" in \
        str(error.value)
    assert SECRET not in str(error.value)


@pytest.mark.parametrize("password", ["e", "p", "ss"])
def test_a_short_password_is_hidden_without_starring_the_words_around_it(password: str
                                                                         ) -> None:
    from gentune.tuning.storage import _driver_reason

    url = f"postgresql://user:{password}@db/test"
    reason = _driver_reason(ValueError(f"connection to server failed: password={password} "
                                       f"rejected for user:{password}@db"), url)
    assert reason == "connection to server failed: password=*** rejected for user:***@db"


def test_postgres_for_postgresql_is_named() -> None:
    with pytest.raises(StorageError) as error:
        open_storage("postgres://user:s3cret@localhost/test")
    assert "('postgres://'; PostgreSQL's is postgresql://)" in str(error.value)
    assert SECRET not in str(error.value)


@pytest.mark.parametrize("content, line", [(b"garbage\n", 1),
                                           (b'{"op_code": 0}\n{"op_code": garbage\n{}\n', 2),
                                           (b"\xff\xfe\n", 1)])
def test_a_damaged_journal_is_refused_untouched(tmp_path, content: bytes, line: int) -> None:
    journal = tmp_path / "study.journal"
    journal.write_bytes(content)
    with pytest.raises(StorageError, match=f"the journal file '{journal}' is damaged: line "
                                           f"{line} is not a journal record; restore"):
        open_storage(str(journal))
    assert journal.read_bytes() == content


def test_a_journal_cut_short_in_its_last_line_opens(tmp_path) -> None:
    import optuna

    journal = tmp_path / "study.journal"
    optuna.create_study(storage=open_storage(str(journal)), study_name="s")
    journal.write_bytes(journal.read_bytes() + b'{"op_code": 4, "wor')  # a write cut short
    assert optuna.load_study(study_name="s", storage=open_storage(str(journal))).study_name == "s"


@pytest.mark.parametrize("given, expected", [("", "--storage is empty"),
                                             (".", "the storage '.' is a folder")])
def test_a_storage_that_is_empty_or_a_folder_is_refused(given: str, expected: str) -> None:
    with pytest.raises(StorageError, match=re.escape(expected)):
        open_storage(given)
