# The cluster's ports, from one base (CLUSTER_PORT_BASE, default 15000) so that two
# clusters, or a cluster beside the machine's own services, do not collide.
base="${CLUSTER_PORT_BASE:-15000}"
DB_PORT=$base                    # HAProxy: PostgreSQL's primary
HTTP_PORT=$((base + 80))         # HAProxy: the sohoa servers (which listen on HTTP_PORT+1..)
ETCD_PORT=$((base + 379))
ETCD_PEER_PORT=$((base + 380))
PG_PORT=$((base + 432))          # pg1; pg2 on the next port
PATRONI_PORT=$((base + 8))       # pg1's Patroni REST API; pg2's on the next port
