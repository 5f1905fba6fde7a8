package config

// Timings: where rust:build and rust:cook write their timing breakdown as
// JSON (also when the run failed); empty: not written.
var Timings = Knob{Flag: "timings", Env: "MUSLRUST_CHEF_TIMINGS"}

// TimingsFile resolves the timings knob: the flag, else
// MUSLRUST_CHEF_TIMINGS; empty when neither is set.
func TimingsFile(flag *string) string { return Timings.Value(flag) }
