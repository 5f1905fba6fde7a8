package muslrustchef

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// StageName is the name of the Dockerfile's one stage: the builder built for
// the target platform. rust:build builds it in the same solve as cook and
// build (the kit's default builder) and refers to it by this name.
const StageName = "muslrust-chef"

// ContextName is the named build context holding the helper CLI
// (HelperName per architecture) and FetchVerifiedName: the Dockerfile reads
// nothing from its main context, so it can be a stage of another build
// whose main context is a Rust workspace.
const ContextName = "muslrust-chef-context"

// Labels returns the LABELs the Dockerfile sets, expanded with its ARG
// defaults, each overridden by buildArgs as BuildKit would. It is how the
// kit knows what the embedded builder declares (libc, cross-compilation
// toolchain) without building or inspecting an image.
func Labels(buildArgs map[string]string) (map[string]string, error) {
	labels, _, err := config(buildArgs)
	return labels, err
}

// Env returns the ENV values the image gets, expanded like Labels: the
// kit reads ZIG_GLOBAL_CACHE_DIR from it as it would from a published
// builder's image config.
func Env(buildArgs map[string]string) (map[string]string, error) {
	_, envs, err := config(buildArgs)
	return envs, err
}

func config(buildArgs map[string]string) (map[string]string, map[string]string, error) {
	stages, metaArgs, escape, err := parse()
	if err != nil {
		return nil, nil, err
	}
	if len(stages) != 1 {
		return nil, nil, fmt.Errorf("the embedded builder Dockerfile has %d stages, the kit expects one", len(stages))
	}
	lex := shell.NewLex(escape)
	global := env{}
	for _, a := range metaArgs {
		if err := declare(global, nil, a, buildArgs, lex); err != nil {
			return nil, nil, err
		}
	}
	stage := env{}
	labels, envs := map[string]string{}, map[string]string{}
	for _, cmd := range stages[0].Commands {
		switch c := cmd.(type) {
		case *instructions.ArgCommand:
			if err := declare(stage, global, *c, buildArgs, lex); err != nil {
				return nil, nil, err
			}
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				v, _, err := lex.ProcessWord(kv.Value, stage)
				if err != nil {
					return nil, nil, fmt.Errorf("ENV %s: %w", kv.Key, err)
				}
				envs[kv.Key] = v
			}
		case *instructions.LabelCommand:
			for _, kv := range c.Labels {
				k, _, err := lex.ProcessWord(kv.Key, stage)
				if err != nil {
					return nil, nil, fmt.Errorf("label %s: %w", kv.Key, err)
				}
				v, _, err := lex.ProcessWord(kv.Value, stage)
				if err != nil {
					return nil, nil, fmt.Errorf("label %s: %w", kv.Key, err)
				}
				labels[k] = v
			}
		}
	}
	return labels, envs, nil
}

// ArgNames lists the build arguments the Dockerfile declares, sorted: the
// ones a user may set for the kit's own builder.
func ArgNames() ([]string, error) {
	stages, metaArgs, _, err := parse()
	if err != nil {
		return nil, err
	}
	seen := env{}
	add := func(c instructions.ArgCommand) {
		for _, a := range c.Args {
			seen[a.Key] = ""
		}
	}
	for _, a := range metaArgs {
		add(a)
	}
	for _, st := range stages {
		for _, cmd := range st.Commands {
			if c, ok := cmd.(*instructions.ArgCommand); ok {
				add(*c)
			}
		}
	}
	return seen.Keys(), nil
}

// parse reads the embedded Dockerfile with BuildKit's own parser.
func parse() ([]instructions.Stage, []instructions.ArgCommand, rune, error) {
	res, err := parser.Parse(bytes.NewReader(Dockerfile))
	if err != nil {
		return nil, nil, 0, fmt.Errorf("parsing the embedded builder Dockerfile: %w", err)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("parsing the embedded builder Dockerfile: %w", err)
	}
	return stages, metaArgs, res.EscapeToken, nil
}

// declare applies one ARG instruction: a build arg wins over the default;
// a bare ARG in a stage takes the global value of the same name.
func declare(into, global env, c instructions.ArgCommand, buildArgs map[string]string, lex *shell.Lex) error {
	for _, a := range c.Args {
		if v, ok := buildArgs[a.Key]; ok {
			into[a.Key] = v
			continue
		}
		if a.Value != nil {
			v, _, err := lex.ProcessWord(*a.Value, into)
			if err != nil {
				return fmt.Errorf("ARG %s: %w", a.Key, err)
			}
			into[a.Key] = v
			continue
		}
		if v, ok := global[a.Key]; ok {
			into[a.Key] = v
			continue
		}
		into[a.Key] = ""
	}
	return nil
}

type env map[string]string

func (e env) Get(k string) (string, bool) { v, ok := e[k]; return v, ok }

func (e env) Keys() []string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
