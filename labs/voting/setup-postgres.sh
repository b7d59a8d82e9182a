#!/bin/sh
# Sets up the voting lab's log store on Debian's/Ubuntu's PostgreSQL (any version):
#   setup-postgres.sh LISTEN_ADDRESS CLIENT_ADDRESS...
# - the cluster listens on localhost and LISTEN_ADDRESS (conf.d/voting.conf);
# - role `votes` and database `votes` (owned by it) exist;
# - the consumers (CLIENT_ADDRESS, one /32 each) and the local web app reach database `votes`
#   as `votes` without a password: a lab on a host-only network, no secret to hand around.
#   On anything shared, use scram-sha-256 with a password from the environment instead.
# - the table vote_log exists (schema.sql beside this script, uploaded to /opt/voting/).
# Idempotent: run it again after changing the consumers' addresses.
set -eu
listen=$1
shift

cluster=$(pg_lsclusters --no-header | awk 'NR == 1 { print $1 " " $2 }')
[ -n "$cluster" ] || { echo "no PostgreSQL cluster (pg_lsclusters is empty)" >&2; exit 1; }
version=${cluster% *}
name=${cluster#* }
conf=/etc/postgresql/$version/$name

mkdir -p "$conf/conf.d"
cat > "$conf/conf.d/voting.conf" <<CONF
# Voting lab (labctl): listen on the host-only network too.
listen_addresses = 'localhost,$listen'
CONF

# Our rules go first in pg_hba.conf (the first matching line wins), between markers.
hba=$conf/pg_hba.conf
begin='# BEGIN voting lab (labctl)'
end='# END voting lab (labctl)'
tmp=$(mktemp)
{
  echo "$begin"
  echo "local   votes   votes                   trust"
  echo "host    votes   votes   127.0.0.1/32    trust"
  for client in "$@"; do
    echo "host    votes   votes   $client/32    trust"
  done
  echo "$end"
  sed "/^$begin\$/,/^$end\$/d" "$hba"
} > "$tmp"
cat "$tmp" > "$hba"
rm -f "$tmp"

systemctl enable "postgresql@$version-$name" >/dev/null 2>&1 || true
if pg_lsclusters --no-header | awk -v v="$version" -v n="$name" '$1 == v && $2 == n { exit ($4 == "online") ? 0 : 1 }'; then
  pg_ctlcluster "$version" "$name" restart
else
  pg_ctlcluster "$version" "$name" start
fi

for i in $(seq 30); do
  runuser -u postgres -- psql -qAtc 'SELECT 1' >/dev/null 2>&1 && break
  sleep 1
done
if ! runuser -u postgres -- psql -qAtc "SELECT 1 FROM pg_roles WHERE rolname = 'votes'" | grep -q 1; then
  runuser -u postgres -- psql -qc 'CREATE ROLE votes LOGIN'
fi
if ! runuser -u postgres -- psql -qAtc "SELECT 1 FROM pg_database WHERE datname = 'votes'" | grep -q 1; then
  runuser -u postgres -- psql -qc 'CREATE DATABASE votes OWNER votes'
fi
psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U votes -d votes -f /opt/voting/schema.sql
echo "PostgreSQL $version/$name: database votes ready on $listen:5432 for $*"
