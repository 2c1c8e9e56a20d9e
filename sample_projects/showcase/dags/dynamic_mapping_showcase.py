import os


def inbox_has_files(inbox: str) -> bool:
    """PythonSensor: poke until the inbox folder exists and is not empty."""
    return os.path.isdir(inbox) and any(os.scandir(inbox))


def make_batches(count: str, size: int = 3) -> list:
    """The list this returns decides how many process_batch task instances run (one per element)."""
    return [list(range(i * size, (i + 1) * size)) for i in range(int(count))]


def process_batch(batch: list) -> int:
    """One mapped task instance per batch; each returns its own XCom."""
    return sum(x * x for x in batch)


def total(results: list) -> int:
    """Receives the XComs of all mapped process_batch instances, in map index order."""
    return sum(results)


def build_commands(grand_total: int, environment: str) -> list:
    """Returns shell commands; the BashOperator below is expanded over them."""
    return [
        f"echo '[{environment}] grand total is {grand_total}'",
        'echo "$GREETING from $HOSTNAME"',
        "date -u +%Y-%m-%dT%H:%M:%SZ",
    ]
