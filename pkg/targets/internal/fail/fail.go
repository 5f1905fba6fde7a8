// Package fail is the one way a mage target ends with an error, following
// mage's convention for exit codes: 2 for a usage mistake (a bad flag or
// knob), 1 for a build that failed, 128+n when signal n interrupted it.
package fail

import (
	"context"

	"github.com/magefile/mage/mg"

	"github.com/muslrust-chef/muslrust-chef/pkg/config"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/targets/internal/interrupt"
)

// Exit codes of the targets.
const (
	BuildFailure = 1
	UsageMistake = 2
)

// Fatal turns target's err into mage's exit: one line "target: message",
// with the options named as the user sets them (config.Explain). An
// interruption of ctx wins over err, whatever err says, because the error
// of an interrupted run is only a consequence. A nil err gives nil.
func Fatal(ctx context.Context, target string, err error) error {
	if err == nil {
		return nil
	}
	if s, ok := interrupt.Interrupted(ctx); ok {
		return interrupt.Stopped(target, s)
	}
	code := BuildFailure
	if option.Usage(err) {
		code = UsageMistake
	}
	return mg.Fatal(code, target+": "+config.Explain(err))
}
