"""Demo results reports (filled below)."""


def seed_reporting_demo() -> None:
    return None
