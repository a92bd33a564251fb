import pytest

from service.config import Config, ConfigError, config_from_env


def test_defaults_are_documented_values() -> None:
    config = config_from_env({})
    assert config.database_url == "sqlite:///var/checklists.db"
    assert config.timezone == "Asia/Shanghai"
    assert config.log_level == "INFO"
    assert config.secret_key == ""  # generated once and kept in the database (sessions)


def test_environment_overrides_defaults() -> None:
    config = config_from_env(
        {"DATABASE_URL": "postgresql://u@db/x", "TIMEZONE": "UTC", "LOG_LEVEL": "debug"}
    )
    assert config.database_url == "postgresql+psycopg://u@db/x"
    assert config.timezone == "UTC"
    assert config.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DATABASE_URL", "not a url", "DATABASE_URL"),
        ("DATABASE_URL", "mysql://root@localhost/x", "DATABASE_URL"),
        ("TIMEZONE", "Mars/Olympus", "TIMEZONE"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL"),
        ("MAX_UPLOAD_BYTES", "20MB", "MAX_UPLOAD_BYTES"),
        ("WEBHOOK_RETRY_SCHEDULE", "0,inf", "WEBHOOK_RETRY_SCHEDULE"),
        ("WEBHOOK_RETRY_SCHEDULE", "0,1e20", "WEBHOOK_RETRY_SCHEDULE"),
        ("WORKER_POLL_SECONDS", "nan", "WORKER_POLL_SECONDS"),
    ],
)
def test_bad_settings_name_the_variable(variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from_env({variable: value})


def test_unknown_override_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown setting"):
        Config().with_overrides({"databse_url": "sqlite://"})
