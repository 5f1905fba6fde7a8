//go:build !linux

package magerun

func setParentDeathSignal() {}
