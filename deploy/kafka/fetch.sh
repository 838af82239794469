#!/usr/bin/env bash
# Fetches Apache Kafka (kafka_2.13 and its runtime dependencies) from Maven Central into
# $KAFKA_HOME/libs, once. A marker file records the pom it came from, so a version bump refetches.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
home="${FIELDCOURT_KAFKA_HOME:-$here/../../.kafka}"
libs="$home/libs"
stamp="$libs/.fetched-from"
want="$(sha256sum "$here/pom.xml" | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "kafka jars: already in $libs"
  exit 0
fi
command -v mvn >/dev/null || { echo "error: mvn (Apache Maven) is needed to fetch Kafka" >&2; exit 1; }
echo "kafka jars: fetching Apache Kafka from Maven Central into $libs (once)..."
rm -rf "$libs.partial"
mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$libs.partial"
rm -rf "$libs"
mv "$libs.partial" "$libs"
echo "$want" > "$stamp"
echo "kafka jars: $(ls "$libs" | wc -l) jars in $libs"
