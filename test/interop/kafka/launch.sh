#!/usr/bin/env bash
# Apache Kafka (KRaft, one combined broker+controller) from the jars of test/interop/kafka/pom.xml,
# in the shape test/helpers/broker-or-peer.ts expects of a peer launcher:
#   test/interop/kafka/launch.sh PORT DATA_DIR [key=value ...]
# It listens for clients on 127.0.0.1:PORT, keeps everything in DATA_DIR and, run again with
# the same DATA_DIR, starts the same broker (so a test can SIGKILL and restart it). It execs
# java in the foreground: the pid the caller started is the broker's.
# KAFKA_LIB names another folder of jars (default: lib/ beside this file).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
lib="${KAFKA_LIB:-$here/lib}"
[ $# -ge 2 ] || { echo "usage: $0 PORT DATA_DIR [key=value ...]" >&2; exit 2; }
port="$1"; dir="$2"; shift 2
ls "$lib"/kafka_2.13-*.jar >/dev/null 2>&1 || { echo "no Apache Kafka jars in $lib: run mvn -q -f $here/pom.xml dependency:copy-dependencies -DoutputDirectory=$lib" >&2; exit 2; }
mkdir -p "$dir"
conf="$dir/server.properties"
java_log=(-Dorg.slf4j.simpleLogger.defaultLogLevel=warn -Dlog4j2.level=warn)
if [ ! -f "$conf" ]; then
  # The controller's port is chosen once and kept in the properties for the restarts.
  cport="$(node -e 's=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
  {
    echo "process.roles=broker,controller"
    echo "node.id=1"
    echo "controller.quorum.voters=1@127.0.0.1:$cport"
    echo "listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport"
    echo "advertised.listeners=PLAINTEXT://127.0.0.1:$port"
    echo "controller.listener.names=CONTROLLER"
    echo "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
    echo "inter.broker.listener.name=PLAINTEXT"
    echo "log.dirs=$dir/logs"
    echo "num.partitions=1"
    echo "offsets.topic.replication.factor=1"
    echo "offsets.topic.num.partitions=3"
    echo "transaction.state.log.replication.factor=1"
    echo "transaction.state.log.min.isr=1"
    echo "transaction.state.log.num.partitions=3"
    echo "share.coordinator.state.topic.replication.factor=1"
    echo "group.initial.rebalance.delay.ms=0"
    for kv in "$@"; do echo "$kv"; done
  } > "$conf.tmp"
  cluster="$(node -e 'let id;do id=require("crypto").randomBytes(16).toString("base64url");while(id.startsWith("-"));console.log(id)')"
  java -Xmx256m "${java_log[@]}" -cp "$lib/*" kafka.tools.StorageTool format -t "$cluster" -c "$conf.tmp" >/dev/null
  mv "$conf.tmp" "$conf"
fi
exec java -Xmx768m -Xms256m -XX:+UseG1GC -Djava.awt.headless=true "${java_log[@]}" -cp "$lib/*" kafka.Kafka "$conf"
