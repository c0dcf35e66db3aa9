import pytest

from tests.crawlers.site import TestSite


@pytest.fixture
def test_site():
    site = TestSite()
    site.start()
    yield site
    site.stop()


@pytest.fixture(autouse=True)
def _stop_leftover_crawls():
    """A test that fails while its continuous crawl runs must not leave the
    crawl running through the rest of the session."""
    from tests.crawlers.support import STARTED

    yield
    while STARTED:
        run = STARTED.pop()
        if run.thread.is_alive():
            run.stop_event.set()
            run.thread.join(120)
