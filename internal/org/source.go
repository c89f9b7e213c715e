// Package org loads the organisation a firebreak process works for: the
// playbook directory (people, rosters, escalations, zones, conduits,
// integrations, the safety policy and the playbooks), or the built-in
// library when none is named. The worker holds the loaded configuration as
// its own authority on who may do what and what exists, resolves the
// integrations' env() secrets once at start, and reloads on SIGHUP.
package org

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/firebreak-ir/firebreak/playbooks"
	"github.com/firebreak-ir/firebreak/playbooks/library"
)

// EnvDir is the environment variable that names the playbook directory when
// no --dir is given.
const EnvDir = "FIREBREAK_DIR"

// Dir picks the playbook directory: flag when set, else $FIREBREAK_DIR, else
// "" for the built-in library.
func Dir(flag string, getenv func(string) string) string {
	if flag != "" {
		return flag
	}
	return getenv(EnvDir)
}

// Describe names a playbook directory for messages: the path, or the
// built-in library for "".
func Describe(dir string) string {
	if dir == "" {
		return library.Name
	}
	return dir
}

// LoadModule loads the playbook directory dir, or the built-in library when
// dir is "". It does not check the module; see Load for that.
func LoadModule(dir string) (*playbooks.Module, hcl.Diagnostics) {
	if dir == "" {
		return playbooks.LoadSource(library.Sources())
	}
	return playbooks.Load(dir)
}
