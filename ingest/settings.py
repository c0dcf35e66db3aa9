"""One home for every knob. Each field is read from the environment as
``RASD_<FIELD NAME>`` (or from a ``.env`` file); docker-compose.yml and the
README use exactly these names."""
from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RASD_", env_file=".env", extra="ignore")

    # Kafka
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # Secured brokers: TLS (SSL), SASL over plaintext or TLS. Every Kafka
    # client takes these through ingest.kafka_connection.kafka_client_kwargs.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    # PEM files; no CA file: the system's trusted CAs
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None
    kafka_ssl_key_password: SecretStr | None = None
    kafka_ssl_check_hostname: bool = True
    topic_pages: str = "rasd.pages.v1"
    topic_articles: str = "rasd.articles.v2"
    topic_dead_letters: str = "rasd.dead-letters.v1"
    # Discovered links, keyed by host: the crawler group's partitions decide
    # which process owns (fetches from) which host.
    topic_frontier: str = "rasd.frontier.v1"
    frontier_partitions: int = Field(default=12, ge=1)
    crawler_group_id: str = "rasd-crawler"
    topic_partitions: int = Field(default=3, ge=1)
    # Kafka's default message limit is 1 MiB on producer, broker and consumer;
    # pages are zstd-compressed, and a page still larger than this after
    # compression becomes a dead letter instead of an oversized send.
    kafka_max_message_bytes: int = 1_000_000
    ingest_group_id: str = "rasd-ingest"
    # None: "rasd-indexer-<engine distribution>", so Elasticsearch and
    # OpenSearch indexers each read the whole articles topic.
    indexer_group_id: str | None = None
    consumer_poll_timeout_ms: int = 1000
    # A consumer that does not poll for this long leaves its group. A stalled
    # indexer keeps polling (its partitions paused) so it can wait longer.
    kafka_max_poll_interval_ms: int = Field(default=900_000, ge=1000)
    # A stable name for this worker process, unique among the running ones
    # (a container or pod name, not a random id): the worker is then a static
    # member of its consumer groups (KIP-345), so a restart within the session
    # timeout gets its partitions back at once instead of waiting for the dead
    # member's session to run out and a rebalance. Two processes running with
    # the same name fence each other: the older one stops with an error.
    kafka_instance_id: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._-]+$")
    # The longest a batch's transaction may stay open (its outputs and input
    # offsets commit together): the broker aborts it after this, and a dead
    # worker without a kafka_instance_id holds up the readers of its
    # partitions this long at most.
    kafka_transaction_timeout_ms: int = Field(default=30_000, ge=1000, le=900_000)
    # How long a Kafka client waits for its first broker answer when it
    # starts (kafka-python's default): a command started with Kafka away
    # fails with a clear error after this.
    kafka_bootstrap_timeout_ms: int = Field(default=30_000, ge=100)
    batch_max_records: int = Field(default=500, ge=1)
    # A batch is also bounded in time: when records are slow (a struggling
    # store, huge pages), polls take fewer of them, so a batch is committed
    # and its progress logged about this often (None: records only).
    batch_max_s: float | None = Field(default=10.0, gt=0)

    # Search engine
    search_url: str = "http://127.0.0.1:9201"
    search_username: str | None = None
    search_password: SecretStr | None = None
    # Instead of a username: an API key as the engine issues it (the base64
    # "id:key" of Elasticsearch, the os_ token of OpenSearch 3.7+), sent as
    # "Authorization: ApiKey <key>".
    search_api_key: SecretStr | None = None
    # TLS (https:// URLs): a PEM CA file (none: the system's trusted CAs),
    # verification (turn off only for a throwaway cluster), a client
    # certificate and its key (PEM) for engines that authenticate by
    # certificate.
    search_ca_certs: Path | None = None
    search_verify_certs: bool = True
    search_client_cert: Path | None = None
    search_client_key: Path | None = None
    articles_alias: str = "rasd-articles"
    search_request_timeout_s: float = 60.0
    # gzip request bodies (bulk, searches): less to send over a network, some
    # CPU on both ends. Off by default: on loopback it cost OpenSearch a
    # quarter of its indexing rate (`rasd bench-index`); turn it on for a
    # cluster across a real network.
    search_http_compress: bool = False
    # Indexer: a struggling engine (429/5xx/down/timeouts) is waited for in
    # the process, for as long as it takes: the failed documents are sent
    # again after initial, 2x, 4x ... up to max seconds. Unused, kept so that
    # an old RASD_INDEX_RETRY_ATTEMPTS in an environment is not an error.
    index_retry_attempts: int = Field(default=8, ge=1)
    index_retry_initial_s: float = Field(default=0.5, gt=0)
    index_retry_max_s: float = Field(default=30.0, gt=0)
    # How often (at most) a stalled indexer logs `index_stalled`.
    index_stall_log_interval_s: float = Field(default=30.0, gt=0)
    # One bulk request holds at most this many documents and bytes (both
    # engines refuse bodies over http.max_content_length, 100 MB by default);
    # a batch larger than that is sent as several requests, up to
    # index_bulk_concurrency at a time. Requests of 125 two at a time beat one
    # request of 500 on both local engines (`rasd bench-index`): the engine
    # indexes one while the indexer sends or reads the other.
    index_bulk_max_docs: int = Field(default=125, ge=1)
    index_bulk_max_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    index_bulk_concurrency: int = Field(default=2, ge=1, le=16)
    # Index lifecycle (`rasd index setup`, also run by the indexer at start).
    index_lifecycle: Literal["auto", "indexer"] = Field(
        default="auto",
        description="auto: the engine's own lifecycle (ILM on Elasticsearch, ISM on OpenSearch) where it has one, "
        "else the indexer rolls over and deletes; indexer: always the indexer (the engine still evaluates the "
        "rollover conditions through its _rollover API).",
    )
    index_rollover_max_size: str | None = Field(
        default="50gb", description="Roll the write index over once its primary shards hold this much (None: no size limit)."
    )
    index_rollover_max_age: str | None = Field(
        default="30d", description="Roll the write index over once it is this old (engine time units; None: no age limit)."
    )
    index_rollover_max_docs: int | None = Field(
        default=None, ge=1, description="Roll the write index over once it holds this many documents (None: no limit)."
    )
    index_retention_days: float | None = Field(
        default=None,
        gt=0,
        description="Delete a rollover index this many days after it stopped being written (None: keep for ever).",
    )
    index_lifecycle_interval_s: float = Field(
        default=60.0, gt=0, description="How often the indexer checks rollover and retention when the engine cannot."
    )

    # Crawling
    sources_file: Path | None = None
    # Sent as "<crawl_user_agent> (+<crawl_contact_url>)": site owners see
    # who crawls them and where to complain.
    crawl_user_agent: str = "RasdBot/0.1"
    crawl_contact_url: str = "https://github.com/rasd-monitoring/rasd"
    crawl_download_delay_s: float = 0.25
    crawl_concurrency_per_domain: int = Field(default=4, ge=1)
    crawl_max_page_bytes: int = 8 * 1024 * 1024
    crawl_obey_robots: bool = True
    crawl_download_timeout_s: float = Field(default=30.0, gt=0)
    # robots.txt is read again after this long (rules and Crawl-delay change)
    crawl_robots_ttl_s: float = Field(default=86_400.0, gt=0)
    # robots.txt that answered 5xx or could not be read: the site counts as
    # disallowing everything (RFC 9309) until it is asked again after this long
    crawl_robots_retry_s: float = Field(default=300.0, gt=0)
    # Links kept from one feed or sitemap poll (the sitemap protocol's own
    # limit): a listing naming more is cut there and the cut is recorded
    crawl_max_links_per_listing: int = Field(default=50_000, ge=1)
    crawl_max_redirects: int = Field(default=5, ge=0)
    # Continuous crawling: the URL status index (in the search engine at
    # search_url) is the crawl's memory, shared by every crawler process.
    crawl_status_index: str = "rasd-crawl-status"
    # How often a source's feeds, sitemaps and sections are polled: the
    # default interval, adapted per listing within [min, max] (changed
    # listings are polled more often, unchanged ones less).
    crawl_poll_interval_s: float = Field(default=600.0, gt=0)
    crawl_poll_min_s: float = Field(default=120.0, gt=0)
    crawl_poll_max_s: float = Field(default=6 * 3600.0, gt=0)
    # A listing or host that keeps failing waits longer and longer, up to this.
    crawl_error_backoff_max_s: float = Field(default=6 * 3600.0, gt=0)
    # Optional re-fetches of a new article to catch updates (seconds after
    # the first fetch); empty: each article is fetched once.
    crawl_refetch_after_s: list[float] = Field(default_factory=list)
    # How often the sources file is checked for changes (no restart needed).
    crawl_sources_reload_s: float = Field(default=5.0, gt=0)
    # How often the frontier looks for due work, and how much it takes per host.
    crawl_frontier_tick_s: float = Field(default=0.5, gt=0)
    crawl_queue_per_host: int = Field(default=8, ge=1)
    # The crawler fetches only from public addresses: loopback, private,
    # link-local (cloud metadata), CGNAT, multicast and reserved ones are
    # refused unless they are in one of these networks (CIDRs or single
    # addresses, e.g. ["127.0.0.1/32"] for a site served on this machine).
    crawl_allowed_networks: list[str] = Field(default_factory=list)

    # Keyword alerts. Rules are written in the rules file and synced by
    # `rasd rules apply` into the rules index (percolator queries), which the
    # indexer matches every batch against: workers never read the file.
    rules_file: Path = Path("rules.yaml")
    rules_index: str = "rasd-rules"
    alerts_index: str = "rasd-alerts"
    topic_alerts: str = "rasd.alerts.v1"
    notifier_group_id: str = "rasd-notifier"
    # Matches are read from the engine this many rules at a time (paged, so
    # that none is dropped however many rules match one batch).
    percolate_page_size: int = Field(default=500, ge=1, le=10_000)
    # Webhook bodies are signed with HMAC-SHA256 over this shared secret
    # (header X-Rasd-Signature: sha256=<hex>); unset: webhooks are not signed.
    alert_webhook_secret: SecretStr | None = None
    alert_webhook_timeout_s: float = Field(default=10.0, gt=0)
    # A failed delivery is retried after initial, 2x, 4x ... up to max seconds,
    # at most this many attempts; then it is marked failed and dead-lettered.
    alert_delivery_retry_initial_s: float = Field(default=1.0, gt=0)
    alert_delivery_retry_max_s: float = Field(default=300.0, gt=0)
    alert_delivery_max_attempts: int = Field(default=12, ge=1)
    # How often the notifier looks for due retries and digests in the alerts index.
    alert_sweep_interval_s: float = Field(default=1.0, gt=0)

    # Kibana / OpenSearch Dashboards (`rasd kibana import`)
    kibana_url: str = "http://127.0.0.1:5601"
    kibana_username: str | None = None
    kibana_password: SecretStr | None = None
    kibana_timeout_s: float = Field(default=60.0, gt=0)

    # Extraction
    min_article_chars: int = Field(default=200, ge=1)
    # Lines a site repeats on many pages (promotions, slogans) are learned
    # per domain in this index, shared by every ingest worker; a line found on
    # this many other pages of the same domain is removed from the body.
    boilerplate_index: str = "rasd-boilerplate-lines"
    boilerplate_min_pages: int = Field(default=4, ge=1)
    # Story clusters: near-duplicate articles (the same wire story on several
    # sites) share a cluster id. MinHash signatures and their LSH bands live
    # in this index, shared by every ingest worker.
    cluster_index: str = "rasd-story-clusters"
    cluster_threshold: float = Field(default=0.5, gt=0, le=1)
    # Raw pages stay in the pages topic this long, for `rasd reextract`
    # (topic retention; -1 keeps them for ever).
    pages_retention_days: float = Field(default=90.0)
    # Per-source extraction health (`rasd sources health`): one small record
    # per processed page in this index; a source is flagged when its last
    # window differs sharply from the baseline before it.
    extraction_log_index: str = "rasd-extraction-log"
    health_window_s: float = Field(default=86_400.0, gt=0)
    health_baseline_s: float = Field(default=7 * 86_400.0, gt=0)

    # Local stack (rasd stack up|down|status): loopback only
    stack_dir: Path = Path(".rasd-stack")
    stack_kafka_port: int = 9092
    stack_kafka_controller_port: int = 9093
    stack_opensearch_port: int = Field(default=9201, ge=9201, le=9299)
    stack_elasticsearch_port: int = 9200
    stack_elasticsearch_transport_port: int = 9300
    demo_site_port: int = 8800

    log_level: str = "INFO"
    log_json: bool = False
    # Commands that run for a while and end (demo, benchmarks, reextract,
    # one-pass crawls) log a progress line this often; 0: none. Services log
    # per batch instead and never use it.
    progress_interval_s: float = Field(default=5.0, ge=0)

    # Observability: every long-running process (crawl child, ingest, index,
    # notify) serves Prometheus /metrics, /healthz and /readyz on this port. None: off,
    # the default for commands run by hand (two processes on one machine
    # cannot share a port); 0: any free port (logged as metrics_serving);
    # docker-compose.yml sets 9400 in each container.
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    # 127.0.0.1 keeps the endpoint on the machine; compose uses 0.0.0.0 so
    # Prometheus can reach the containers.
    metrics_host: str = "127.0.0.1"
    # /healthz turns 503 once a process's work loop has not turned for this
    # long (a worker stuck, not just Kafka unreachable). Above the slowest
    # batch: a notifier batch waits for webhooks (alert_webhook_timeout_s each).
    liveness_stale_s: float = Field(default=300.0, gt=0)
    # A consumer's lag (end offset - position per partition) is measured at
    # most this often: it costs a request to the broker.
    metrics_lag_interval_s: float = Field(default=5.0, gt=0)

    @property
    def user_agent_header(self) -> str:
        return f"{self.crawl_user_agent} (+{self.crawl_contact_url})" if self.crawl_contact_url else self.crawl_user_agent

    def namespaced(self, tag: str) -> "Settings":
        """A copy whose topics, consumer groups and index alias carry ``tag``:
        a test or benchmark run on a shared stack that sees no one else's data."""
        return self.model_copy(
            update={
                "topic_pages": f"{tag}.pages",
                "topic_articles": f"{tag}.articles",
                "topic_dead_letters": f"{tag}.dead-letters",
                "topic_frontier": f"{tag}.frontier",
                "crawler_group_id": f"{tag}-crawler",
                "crawl_status_index": f"{tag}-crawl-status",
                "ingest_group_id": f"{tag}-ingest",
                "indexer_group_id": f"{tag}-indexer",
                "articles_alias": f"{tag}-articles",
                "rules_index": f"{tag}-rules",
                "alerts_index": f"{tag}-alerts",
                "topic_alerts": f"{tag}.alerts",
                "notifier_group_id": f"{tag}-notifier",
                "boilerplate_index": f"{tag}-boilerplate-lines",
                "cluster_index": f"{tag}-story-clusters",
                "extraction_log_index": f"{tag}-extraction-log",
            }
        )

    def allowing(self, *networks: str) -> "Settings":
        """A copy whose crawler may also fetch from ``networks``: a demo,
        test or benchmark site served on this machine."""
        return self.model_copy(update={"crawl_allowed_networks": [*self.crawl_allowed_networks, *networks]})

    def dump_with_secrets(self) -> dict[str, Any]:
        """``model_dump(mode="json")`` with every secret in clear: only for
        handing the settings to a child process (never for logs or output,
        which should see the masked dump)."""
        data = self.model_dump(mode="json")
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                data[name] = value.get_secret_value()
        return data

    def child_environment(self, base: Mapping[str, str]) -> dict[str, str]:
        """``base`` (e.g. ``os.environ``) with the RASD_* variables that make
        ``Settings()`` in a child process equal these settings (secrets in
        clear: only for handing to a child process)."""
        env = {key: value for key, value in base.items() if not key.startswith("RASD_")}
        for name, value in self.dump_with_secrets().items():
            if value is not None:
                # lists and maps are read back as JSON (crawl_allowed_networks ...)
                env[f"RASD_{name.upper()}"] = json.dumps(value) if isinstance(value, (list, dict)) else str(value)
        return env

    @model_validator(mode="after")
    def _credentials_complete(self) -> "Settings":
        if self.kafka_security_protocol.startswith("SASL_") and not (
            self.kafka_sasl_mechanism and self.kafka_sasl_username and self.kafka_sasl_password
        ):
            raise ValueError(
                f"kafka_security_protocol {self.kafka_security_protocol} needs kafka_sasl_mechanism, "
                "kafka_sasl_username and kafka_sasl_password"
            )
        if self.search_api_key is not None and self.search_username:
            raise ValueError("set either search_api_key or search_username/search_password, not both")
        if (self.search_client_key is not None) and self.search_client_cert is None:
            raise ValueError("search_client_key needs search_client_cert")
        if (self.kafka_ssl_keyfile is not None) and self.kafka_ssl_certfile is None:
            raise ValueError("kafka_ssl_keyfile needs kafka_ssl_certfile")
        return self

    @field_validator("pages_retention_days")
    @classmethod
    def _retention(cls, days: float) -> float:
        if days != -1 and days <= 0:
            raise ValueError("pages_retention_days is a number of days > 0, or -1 to keep raw pages for ever")
        return days

    @field_validator("crawl_allowed_networks")
    @classmethod
    def _networks(cls, values: list[str]) -> list[str]:
        # a host address with its prefix ("10.1.2.3/24") means its network
        return [str(ipaddress.ip_network(v.strip(), strict=False)) for v in values]

    @field_validator(
        "sources_file", "kafka_sasl_mechanism", "kafka_sasl_username", "kafka_sasl_password", "kafka_ssl_cafile",
        "kafka_ssl_certfile", "kafka_ssl_keyfile", "kafka_ssl_key_password", "search_username", "search_password",
        "search_api_key", "search_ca_certs", "search_client_cert", "search_client_key", "kibana_username",
        "kibana_password", mode="before",
    )
    @classmethod
    def _empty_means_unset(cls, value: object) -> object:
        # RASD_SOURCES_FILE= (empty) in an env file or a compose default
        # (${VAR:-}) means "not set", not "." or an empty password
        return None if value == "" else value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
