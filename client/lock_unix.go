//go:build unix

package client

import (
	"context"
	"errors"
	"os"
	"syscall"
)

// lockFile takes an exclusive flock(2) on the file at path, polling with LOCK_NB so that
// ctx can end the wait. The lock belongs to the open file: it is released when the process
// dies, so a crashed holder never leaves it stale. The file itself is never removed, since
// removing a flocked file lets two processes lock two different files.
func lockFile(ctx context.Context, path string) (func() error, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fileError("open the lock of", path, err)
	}
	fd := int(f.Fd())
	for {
		err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			_ = f.Close()
			return nil, fileError("lock", path, err)
		}
		if err := sleep(ctx, lockPoll); err != nil {
			_ = f.Close()
			return nil, fileError("wait for the lock", path, err)
		}
	}
	return func() error {
		err := syscall.Flock(fd, syscall.LOCK_UN)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fileError("unlock", path, err)
		}
		return nil
	}, nil
}
