#!/usr/bin/env bash
# The compose `certs` service: a CA and Elasticsearch's HTTP certificate,
# made with the elasticsearch-certutil of the Elasticsearch image (the layout
# of Elastic's multi-node compose example), so that passwords never cross the
# compose network in clear. Usage: elasticsearch-certs.sh CERTS_DIR INSTANCES
#
# Run again it changes nothing: existing files are kept, so a restarted stack
# keeps trusting the CA its clients already hold. A new CA (the old one was
# deleted) also gets a new server certificate, never one signed by the old CA.
set -euo pipefail

certs=$1
instances=$2
certutil="${ES_HOME:-/usr/share/elasticsearch}/bin/elasticsearch-certutil"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ ! -f "$certs/ca/ca.crt" ]; then
  "$certutil" ca --silent --pem --out "$work/ca.zip"
  unzip -qo "$work/ca.zip" -d "$certs"
  rm -rf "$certs/elasticsearch"
  echo "CA created"
fi
if [ ! -f "$certs/elasticsearch/elasticsearch.crt" ]; then
  "$certutil" cert --silent --pem --in "$instances" \
    --ca-cert "$certs/ca/ca.crt" --ca-key "$certs/ca/ca.key" --out "$work/certs.zip"
  unzip -qo "$work/certs.zip" -d "$certs"
  echo "elasticsearch certificate created"
fi

# Every service mounts this volume, the Rasd ones (uid 10001) too: the
# certificates are public, the keys are not. Elasticsearch runs as uid 1000
# in group 0, so group 0 lets it read its key; nothing but this service needs
# the CA key.
if [ "$(id -u)" = 0 ]; then
  chown -R 0:0 "$certs"
fi
chmod 755 "$certs" "$certs/ca" "$certs/elasticsearch"
chmod 644 "$certs/ca/ca.crt" "$certs/elasticsearch/elasticsearch.crt"
chmod 600 "$certs/ca/ca.key"
chmod 640 "$certs/elasticsearch/elasticsearch.key"
echo "certificates ready in $certs"
