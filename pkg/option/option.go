// Package option lets library packages fail with errors that name one of
// their options without knowing how the user set it. A library writes
// option.Usagef("… set %s to repo[:tag]", option.Env(option.Image)); a Go
// caller reads "set the image option to repo[:tag]", while pkg/config
// renders the same error with the knob's name (its environment variable,
// or -image for a flag) for the mage targets. It imports only the standard
// library so that every package may use it.
package option

import (
	"errors"
	"fmt"
	"strings"
)

// Name is the stable identity of an option; names.go lists them all.
type Name string

// Ref is one mention of an option in an error message. Flag asks for the
// option's flag spelling where it has one, else its environment variable.
type Ref struct {
	Opt  Name
	Flag bool
}

// Env mentions n as the environment variable that sets it.
func Env(n Name) Ref { return Ref{Opt: n} }

// Flag mentions n as the command-line flag that sets it.
func Flag(n Name) Ref { return Ref{Opt: n, Flag: true} }

// String is the rendering for callers that do not know the knobs: "the
// libc option".
func (r Ref) String() string { return "the " + string(r.Opt) + " option" }

// Error is an error whose message mentions options through Refs. Usage
// marks a mistake in how the kit was called (exit 2), as opposed to a
// build that failed (exit 1).
type Error struct {
	Usage  bool
	format string
	args   []any
	err    error // the %w operand(s), nil without %w
}

// Errorf is a build failure. The format and arguments are fmt.Errorf's; an
// argument may be a Ref, and one may be an error formatted with %w.
func Errorf(format string, a ...any) *Error { return newError(false, format, a) }

// Usagef is a usage mistake: a missing or malformed option, a combination
// that cannot work. It is formatted like Errorf.
func Usagef(format string, a ...any) *Error { return newError(true, format, a) }

func newError(usage bool, format string, a []any) *Error {
	e := &Error{Usage: usage, format: format, args: a}
	switch w := fmt.Errorf(format, a...).(type) {
	case interface{ Unwrap() error }:
		e.err = w.Unwrap()
	case interface{ Unwrap() []error }:
		e.err = errors.Join(w.Unwrap()...)
	}
	return e
}

// Error renders every Ref with Ref.String, so that the text is the same
// each time: pkg/config finds it inside wrapping messages and replaces it.
func (e *Error) Error() string { return e.Render(Ref.String) }

// Render formats the message with name spelling each Ref.
func (e *Error) Render(name func(Ref) string) string {
	args := make([]any, len(e.args))
	for i, a := range e.args {
		if r, ok := a.(Ref); ok {
			a = name(r)
		}
		args[i] = a
	}
	return fmt.Errorf(e.format, args...).Error()
}

// Unwrap returns the error formatted with %w (several are joined), or nil.
func (e *Error) Unwrap() error { return e.err }

// Usage reports whether err is a usage mistake: the outermost *Error in
// its chain decides, since whoever wrapped a usage error in a build failure
// (or the reverse) classified it last.
func Usage(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Usage
}

// Render is err's message with the options of every *Error in its chain
// (through Unwrap() error and Unwrap() []error) spelled by name. Each
// *Error renders the same text every time, so its default rendering is
// found inside the messages that wrap it and replaced there.
func Render(err error, name func(Ref) string) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	walk(err, func(e *Error) {
		if plain := e.Error(); plain != "" {
			msg = strings.ReplaceAll(msg, plain, e.Render(name))
		}
	})
	return msg
}

// walk calls f for each *Error in err's tree, outer ones first.
func walk(err error, f func(*Error)) {
	if err == nil {
		return
	}
	if e, ok := err.(*Error); ok {
		f(e)
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		walk(u.Unwrap(), f)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			walk(e, f)
		}
	}
}
