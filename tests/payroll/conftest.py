"""The payroll tests' cast: a plan that posts without approval, and its payroll connection."""
import pytest

from tests import scenario


@pytest.fixture
def world(app, client):
    return scenario.World(app, client, requires_approval=False)


@pytest.fixture
def connection(client, world):
    return scenario.connect_payroll(client, world.sponsor, world.employer_id)
