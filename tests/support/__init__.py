"""What the tests share: driving the `plumb` command, reading problem details, draining the outbox."""
from backend.cli import command_group


def run_cli(app, args: list[str]):
    """Run a `plumb` command against the test's app (its database, clock and wiring), as an operator would."""
    return app.test_cli_runner().invoke(command_group(), args=args)
