package config

import (
	"time"

	"github.com/muslrust-chef/muslrust-chef/pkg/option"

	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
)

// Registry deadlines of the rust:* targets' pushes and image:merge (pkg/publish documents
// the defaults; the Default strings here must match them).
var (
	// RegistryTimeout: how long each registry request waits for the registry's answer once sent (a Go duration, e.g. 90s; 0 turns it off); a registry that stops answering fails the push after this long.
	RegistryTimeout = Knob{Env: "MUSLRUST_CHEF_REGISTRY_TIMEOUT", Default: "2m"}
	// PushTimeout: upper bound of a whole push, uploads included (a Go duration; 0 turns it off).
	PushTimeout = Knob{Env: "MUSLRUST_CHEF_PUSH_TIMEOUT", Default: "30m"}
)

// Duration resolves a duration knob from the environment or its default.
func (k Knob) Duration() (time.Duration, error) {
	s := k.Value(nil)
	d, err := time.ParseDuration(s)
	if s == "0" {
		d, err = 0, nil
	}
	if err != nil || d < 0 {
		return 0, option.Usagef("%s=%q is not a duration: use a value such as 90s, 5m or 0 (no limit)", k.Env, s)
	}
	return d, nil
}

// RegistryOptions are the registry deadlines from MUSLRUST_CHEF_REGISTRY_TIMEOUT
// and MUSLRUST_CHEF_PUSH_TIMEOUT, for every target that pushes with
// go-containerregistry (rust:build, rust:slim, image:merge).
func RegistryOptions() ([]publish.RegistryOption, error) {
	req, err := RegistryTimeout.Duration()
	if err != nil {
		return nil, err
	}
	push, err := PushTimeout.Duration()
	if err != nil {
		return nil, err
	}
	return []publish.RegistryOption{publish.WithRequestTimeout(req), publish.WithPushTimeout(push)}, nil
}
