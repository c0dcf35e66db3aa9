"""Search-engine access shared by every stage that keeps data in the engine
(the indexer's articles, the crawler's URL status index): vendor detection,
one thin client per vendor, and one error type."""
