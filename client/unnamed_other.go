//go:build !linux

package client

import (
	"errors"
	"os"
)

// createUnnamed returns nil, nil: only Linux writes files without a name here, and the
// caller writes a named temporary file instead.
func createUnnamed(dir string) (*os.File, error) { return nil, nil }

// linkUnnamed is never called where createUnnamed makes no file.
func linkUnnamed(f *os.File, target string) error { return errors.ErrUnsupported }
