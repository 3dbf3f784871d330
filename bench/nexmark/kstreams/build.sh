#!/usr/bin/env bash
# Builds the Kafka Streams Nexmark queries: the jars of pom.xml into lib/ (Maven runs only when
# pom.xml changed since the last copy: a sha256 stamp in lib/), then src/ compiled with javac
# into classes/. Both folders are gitignored. Run from anywhere:
#   bash bench/nexmark/kstreams/build.sh
# then: java -cp "bench/nexmark/kstreams/classes:bench/nexmark/kstreams/lib/*" dev.rivulet.nexmark.kstreams.NexmarkKStreams --query q0
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
lib="$here/lib"
classes="$here/classes"
stamp="$lib/.pom.sha256"
want="$(sha256sum "$here/pom.xml" | cut -d' ' -f1)"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && ls "$lib"/kafka-streams-*.jar >/dev/null 2>&1; then
  echo "nexmark-kstreams: jars up to date; skipping Maven"
else
  rm -rf "$lib"
  # outputDirectory must be absolute: Maven resolves a relative one against the pom's folder.
  if ! out="$(mvn -B -q -Dstyle.color=never -f "$here/pom.xml" dependency:copy-dependencies -DoutputDirectory="$lib" 2>&1)"; then
    printf '%s\n' "$out" >&2
    echo "nexmark-kstreams: Maven could not fetch the jars of $here/pom.xml (see above; it needs Maven 3.8+ and access to Maven Central or a filled ~/.m2)" >&2
    exit 1
  fi
  printf '%s\n' "$want" > "$stamp"
fi

rm -rf "$classes"
mkdir -p "$classes"
if ! javac -nowarn -encoding UTF-8 --release 17 -d "$classes" -cp "$lib/*" $(find "$here/src" -name '*.java'); then
  echo "nexmark-kstreams: javac failed (needs a JDK 17+)" >&2
  exit 1
fi
echo "nexmark-kstreams: $(ls "$lib"/*.jar | wc -l) jars, classes in $classes"
