"""The continuous crawl's frontier: which URLs exist, which are due, and
which crawler process fetches them.

- ``status``: one record per URL (articles and listings) and the pure rules
  that decide when it is fetched next (adaptive revisit, backoff, re-fetch).
- ``store``: those records in the URL status index of the search engine,
  shared by every crawler process on every machine.
- ``ownership``: hosts are split over the crawler processes by the Kafka
  consumer group of the frontier topic (a host's partition decides its owner).
- ``worker``: the thread that ties them together for one Scrapy process.
"""
