#!/bin/sh
# One-shot: forms the Redis Cluster of deploy/compose/redis-cluster.yml (3 masters, a replica
# each) once every node answers; does nothing when the cluster is formed already.
set -eu
NODES="redis redis-2 redis-3 redis-4 redis-5 redis-6"
addrs=""
for h in $NODES; do
  timeout 120 sh -c "until redis-cli -h $h ping 2>/dev/null | grep -q PONG; do sleep 0.5; done"
  # CLUSTER MEET wants addresses; clients get hostnames (cluster-announce-hostname).
  addrs="$addrs $(getent hosts "$h" | awk '{print $1}'):6379"
done
if redis-cli -h redis cluster info | grep -q '^cluster_state:ok'; then
  echo "redis-cluster-init: cluster already formed"
  exit 0
fi
# shellcheck disable=SC2086
redis-cli --cluster create $addrs --cluster-replicas 1 --cluster-yes
# Done when every node agrees: all slots assigned and cluster_state ok everywhere (clients that
# start right after this must not meet a node still converging).
for h in $NODES; do
  timeout 120 sh -c "until redis-cli -h $h cluster info | grep -q '^cluster_state:ok' && redis-cli -h $h cluster info | grep -q '^cluster_slots_ok:16384'; do sleep 0.5; done"
done
echo "redis-cluster-init: cluster formed"
