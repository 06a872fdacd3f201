#!/usr/bin/env bash
# A network of N hosts on this machine, for measuring distributed training against bandwidth
# (and latency where the kernel has netem): one network namespace per rank (mlpc-h0, mlpc-h1, …),
# each joined to a bridge by a veth pair, its egress shaped by `tc`; mpirun starts one rank in
# each namespace through an rsh agent that enters the namespace named like the host. Loopback
# only: nothing leaves the machine. Needs root, iproute2 and OpenMPI.
#   scripts/emulated_network.sh run N RATE DELAY -- COMMAND...   (RATE e.g. 1gbit or "none",
#                                                                  DELAY e.g. 1ms or 0)
# runs `mpirun -n N COMMAND` across the namespaces and removes them afterwards.
set -euo pipefail
[ "${1:-}" = run ] || { sed -n '2,10p' "$0"; exit 2; }
n=$2 rate=$3 delay=$4
shift 5
work=$(mktemp -d)
remove_network() {
  for i in $(seq 0 $((n - 1))); do
    ip netns del "mlpc-h$i" 2> /dev/null || true
    ip link del "mlpc-v$i" 2> /dev/null || true
  done
  ip link del mlpc-br 2> /dev/null || true
}
trap 'remove_network; rm -rf "$work"' EXIT
remove_network
ip link add mlpc-br type bridge forward_delay 0
ip addr add 10.77.0.1/24 dev mlpc-br
ip link set mlpc-br up
: > "$work/hosts"
for i in $(seq 0 $((n - 1))); do
  ns=mlpc-h$i
  ip netns add "$ns"
  ip link add "mlpc-v$i" type veth peer name eth0 netns "$ns"
  ip link set "mlpc-v$i" master mlpc-br up
  ip netns exec "$ns" ip addr add "10.77.0.$((i + 2))/24" dev eth0
  ip netns exec "$ns" ip link set eth0 up
  ip netns exec "$ns" ip link set lo up
  if [ "$delay" != 0 ]; then
    # netem: delay, and the rate when given (fails where the kernel lacks sch_netem).
    ip netns exec "$ns" tc qdisc add dev eth0 root netem delay "$delay" \
      $([ "$rate" != none ] && echo rate "$rate")
  elif [ "$rate" != none ]; then
    ip netns exec "$ns" tc qdisc add dev eth0 root tbf rate "$rate" burst 256kb latency 400ms
  fi
  echo "$ns slots=1" >> "$work/hosts"
done
cat > "$work/agent" << 'AGENT'
#!/bin/sh
host=$1
shift
exec ip netns exec "$host" sh -c "$*"
AGENT
chmod +x "$work/agent"
sleep 1  # the bridge ports come up
# Every "host" is this machine: each namespace's orted would bind its rank to core 0, so the
# ranks are left unbound (--bind-to none) to run on different cores.
mpirun --allow-run-as-root --hostfile "$work/hosts" -n "$n" --map-by node --bind-to none \
  --mca plm_rsh_agent "$work/agent" --mca oob_tcp_if_include 10.77.0.0/24 \
  --mca btl tcp,self --mca btl_tcp_if_include 10.77.0.0/24 "$@"
