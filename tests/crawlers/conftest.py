import pytest

from tests.crawlers.site import TestSite


@pytest.fixture
def test_site():
    site = TestSite()
    site.start()
    yield site
    site.stop()
