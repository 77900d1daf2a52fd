//go:build !unix

package main

import (
	"errors"
	"time"
)

// processCPU needs getrusage(2); elsewhere the CPU figures are not measured.
func processCPU() (time.Duration, error) {
	return 0, errors.New("CPU time is measured with getrusage, on Unix systems only")
}
