package magerun

import "syscall"

// setParentDeathSignal makes the kernel send SIGTERM when the parent (`go
// run`, which dies on SIGTERM without passing it on) goes away, so the
// targets still cancel and clean up. It survives the exec.
func setParentDeathSignal() {
	syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0)
}
