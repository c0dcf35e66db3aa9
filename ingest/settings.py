"""One home for every knob. Each field is read from the environment as
``RASD_<FIELD NAME>`` (or from a ``.env`` file); docker-compose.yml and the
README use exactly these names."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RASD_", env_file=".env", extra="ignore")

    # Kafka
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    topic_pages: str = "rasd.pages.v1"
    topic_articles: str = "rasd.articles.v1"
    topic_dead_letters: str = "rasd.dead-letters.v1"
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
    batch_max_records: int = Field(default=500, ge=1)

    # Search engine
    search_url: str = "http://127.0.0.1:9201"
    search_username: str | None = None
    search_password: SecretStr | None = None
    articles_alias: str = "rasd-articles"
    search_request_timeout_s: float = 60.0
    # Indexer: how long a batch waits for a struggling engine (429/5xx/down)
    # before the indexer gives up on it, leaving its offsets uncommitted.
    index_retry_attempts: int = Field(default=8, ge=1)
    index_retry_initial_s: float = Field(default=0.5, gt=0)
    index_retry_max_s: float = Field(default=30.0, gt=0)

    # Crawling
    sources_file: Path | None = None
    crawl_user_agent: str = "RasdBot/0.1 (+https://github.com/rasd-monitoring/rasd)"
    crawl_download_delay_s: float = 0.25
    crawl_concurrency_per_domain: int = Field(default=4, ge=1)
    crawl_max_page_bytes: int = 8 * 1024 * 1024
    crawl_obey_robots: bool = True

    # Extraction
    min_article_chars: int = Field(default=200, ge=1)

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

    def namespaced(self, tag: str) -> "Settings":
        """A copy whose topics, consumer groups and index alias carry ``tag``:
        a test or benchmark run on a shared stack that sees no one else's data."""
        return self.model_copy(
            update={
                "topic_pages": f"{tag}.pages",
                "topic_articles": f"{tag}.articles",
                "topic_dead_letters": f"{tag}.dead-letters",
                "ingest_group_id": f"{tag}-ingest",
                "indexer_group_id": f"{tag}-indexer",
                "articles_alias": f"{tag}-articles",
            }
        )

    @field_validator("sources_file", mode="before")
    @classmethod
    def _empty_means_unset(cls, value: object) -> object:
        # RASD_SOURCES_FILE= (empty) in an env file means "no sources file", not "."
        return None if value == "" else value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
