#!/bin/sh
# Creates Temporal's two PostgreSQL databases on first start and brings both
# schemas up to the version of this admin-tools image, with Temporal's own
# temporal-sql-tool and the schema files shipped in the image. Safe to run
# on every start: setup-schema -v 0.0 only adds the version tables when they
# are missing (a first start stopped halfway) and leaves a newer schema as
# it is, and update-schema applies only the versions not yet applied.
# docker-compose.yml runs it as the one-shot service temporal-schema.
#
# Reads SQL_HOST, SQL_PORT, SQL_USER, SQL_PASSWORD (temporal-sql-tool's own
# variables), SQL_PLUGIN (default postgres12), TEMPORAL_DB (default temporal)
# and TEMPORAL_VISIBILITY_DB (default temporal_visibility).
set -eu

: "${SQL_PLUGIN:=postgres12}"
export SQL_PLUGIN
schema=/etc/temporal/schema/postgresql/v12

setup() {
	db=$1
	dir=$schema/$2/versioned
	if out=$(temporal-sql-tool --db "$db" create-database 2>&1); then
		echo "created database $db; setting up its schema"
	else
		case $out in
		*"already exists"*) echo "database $db exists; upgrading its schema if needed" ;;
		*)
			printf '%s\n' "$out" >&2
			echo "could not create database $db on $SQL_HOST:${SQL_PORT:-5432} as ${SQL_USER:-?}: see the error above (password, host, permission to CREATE DATABASE)" >&2
			exit 1
			;;
		esac
	fi
	temporal-sql-tool --db "$db" setup-schema -v 0.0
	temporal-sql-tool --db "$db" update-schema -d "$dir"
}

setup "${TEMPORAL_DB:-temporal}" temporal
setup "${TEMPORAL_VISIBILITY_DB:-temporal_visibility}" visibility
echo "Temporal's schema is up to date"
