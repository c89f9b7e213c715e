#!/bin/sh
# Waits for the Temporal server, then makes sure firebreak's namespace and
# search attributes exist, with the temporal CLI of the admin-tools image.
# Safe to run on every start: what exists is left as it is (an existing
# namespace keeps its retention). docker-compose.yml runs it as the one-shot
# service temporal-namespace.
#
# Reads TEMPORAL_ADDRESS (default temporal:7233), TEMPORAL_NAMESPACE
# (default default) and TEMPORAL_RETENTION (default 720h: how long a closed
# incident's history stays for 'firebreak timeline' and 'firebreak report').
set -eu

addr=${TEMPORAL_ADDRESS:-temporal:7233}
ns=${TEMPORAL_NAMESPACE:-default}
retention=${TEMPORAL_RETENTION:-720h}

tries=0
until temporal operator cluster health --address "$addr" >/dev/null 2>&1; do
	tries=$((tries + 1))
	if [ "$tries" -ge 90 ]; then
		echo "the Temporal server at $addr is not healthy after 3 minutes: look at 'docker-compose logs temporal'" >&2
		exit 1
	fi
	sleep 2
done

if temporal operator namespace describe --address "$addr" --namespace "$ns" >/dev/null 2>&1; then
	echo "namespace $ns exists"
else
	temporal operator namespace create --address "$addr" --namespace "$ns" --retention "$retention"
	echo "created namespace $ns (retention $retention)"
fi

# The search attributes 'firebreak list' filters on (docs/operations.md).
existing=$(temporal operator search-attribute list --address "$addr" --namespace "$ns")
for sa in FirebreakPlaybook:Keyword FirebreakSeverity:Keyword FirebreakState:Keyword \
	FirebreakExercise:Bool FirebreakBreakGlass:Bool; do
	name=${sa%%:*}
	type=${sa#*:}
	if printf '%s\n' "$existing" | grep -qw "$name"; then
		continue
	fi
	temporal operator search-attribute create --address "$addr" --namespace "$ns" --name "$name" --type "$type"
	echo "created search attribute $name ($type)"
done
echo "namespace $ns is ready for firebreak"
