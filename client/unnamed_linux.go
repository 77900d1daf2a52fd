//go:build linux

package client

import (
	"errors"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"unsafe"
)

// Linux writes a file without a name (open(2) with O_TMPFILE) and names it once it is whole
// (linkat(2) of /proc/self/fd/N). A process killed before the link leaves nothing behind:
// the kernel frees a file that has no name when its last descriptor closes.

const (
	oTmpfile        = 0x400000 | syscall.O_DIRECTORY // __O_TMPFILE, the same on every Linux architecture Go supports
	atSymlinkFollow = 0x400
	atFDCWD         = -100
)

// createUnnamed opens a new file in dir that has no name, for writing, readable by its
// owner only. It returns nil, nil where the kernel or the file system has no unnamed files:
// the caller writes a named temporary file instead.
func createUnnamed(dir string) (*os.File, error) {
	f, err := os.OpenFile(dir, os.O_WRONLY|oTmpfile, 0o600)
	switch {
	case err == nil:
		return f, nil
	case errors.Is(err, syscall.EOPNOTSUPP), errors.Is(err, syscall.EISDIR), errors.Is(err, syscall.EINVAL), errors.Is(err, syscall.ENOSYS):
		// EISDIR: a kernel older than 3.11 reads O_TMPFILE as O_DIRECTORY alone; the others
		// are file systems without unnamed files.
		return nil, nil
	}
	return nil, err
}

// linkUnnamed gives f, a file from createUnnamed, the name target. It fails with an error
// that matches fs.ErrExist when target exists, and one that matches errors.ErrUnsupported
// when /proc is not mounted, so that f cannot be named.
func linkUnnamed(f *os.File, target string) error {
	fd := strconv.FormatUint(uint64(f.Fd()), 10)
	old, err := syscall.BytePtrFromString("/proc/self/fd/" + fd)
	if err != nil {
		return err
	}
	name, err := syscall.BytePtrFromString(target)
	if err != nil {
		return err
	}
	dirfd := atFDCWD
	_, _, errno := syscall.Syscall6(syscall.SYS_LINKAT, uintptr(dirfd), uintptr(unsafe.Pointer(old)), uintptr(dirfd), uintptr(unsafe.Pointer(name)), atSymlinkFollow, 0)
	runtime.KeepAlive(f)
	if errno == 0 {
		return nil
	}
	if errno == syscall.ENOENT {
		if _, err := os.Stat("/proc/self/fd"); err != nil {
			return errors.ErrUnsupported
		}
	}
	return &os.LinkError{Op: "link", Old: "/proc/self/fd/" + fd, New: target, Err: errno}
}
