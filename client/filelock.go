package client

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/caspio-auth/caspio"
)

// The lock and temporary files of a FileStore follow the protocol of docs/token-file.md,
// which Node's fileStorage (js/file-storage.js) implements too, so that Go and Node
// processes sharing a token file exclude each other. Change both or neither. The lock's
// decisions (when a lock is stale, how often its holder refreshes it, how long a waiter
// pauses) are the core's LockPolicy (caspio.StoreLock); this file performs the operations.

const (
	// staleTemp is the age after which a temporary file is removed even when its writer
	// cannot be shown dead: no live write takes that long.
	staleTemp = time.Minute
	// maxLockFile bounds what is read of a lock file; an owner record is under 200 bytes.
	maxLockFile = 4096
)

// lockOwner is the owner record that a lock file holds.
type lockOwner struct {
	Host  string `json:"host"`
	PID   int    `json:"pid"`
	Nonce string `json:"nonce"`
	At    int64  `json:"at"` // ms since 1970, when taken; for people: age is the file's mtime
}

// seenLock is a lock file as read: its content, modification time and owner (nil when
// the content is not an owner record).
type seenLock struct {
	data  []byte
	mtime time.Time
	owner *lockOwner
}

// same reports whether two reads found the same lock: a stale lock is removed only if it
// is still the one judged stale.
func (a seenLock) same(b seenLock) bool { return bytes.Equal(a.data, b.data) && a.mtime.Equal(b.mtime) }

// fileLock takes and releases the lock of one token file.
type fileLock struct {
	path      string // the token file
	lockPath  string
	breakPath string
	policy    caspio.LockPolicy
	host      string
	pid       int
}

func newFileLock(path string, policy caspio.LockPolicy) *fileLock {
	host, _ := os.Hostname()
	return &fileLock{path: path, lockPath: path + ".lock", breakPath: path + ".lock.break", policy: policy, host: host, pid: os.Getpid()}
}

func (l *fileLock) newOwner() lockOwner {
	return lockOwner{Host: l.host, PID: l.pid, Nonce: crand.Text(), At: time.Now().UnixMilli()}
}

// acquire waits until the lock is taken or ctx ends.
func (l *fileLock) acquire(ctx context.Context) (func() error, error) {
	me := l.newOwner()
	record, err := json.Marshal(me)
	if err != nil {
		return nil, err
	}
	create := true
	pauses := 0
	var holder *lockOwner // the last one seen, for the error when the wait ends
	waitError := func(err error) error {
		if holder != nil {
			err = fmt.Errorf("%w (held by process %d on %s)", err, holder.PID, holder.Host)
		}
		return fileError("wait for the lock", l.lockPath, err)
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, waitError(err)
		}
		if create {
			created, err := createExclusive(l.path, l.lockPath, record, l.pid)
			if err != nil {
				return nil, fileError("create the lock", l.lockPath, err)
			}
			if created {
				return l.held(me), nil
			}
		}
		seen, exists, err := readLock(l.lockPath)
		if err != nil {
			return nil, fileError("read the lock", l.lockPath, err)
		}
		create, holder = true, seen.owner
		switch {
		case !exists:
			continue
		case seen.owner != nil && seen.owner.Nonce == me.Nonce:
			return l.held(me), nil // a link reported failed but done
		case l.isStale(seen, time.Now()):
			broke, err := l.breakStale(seen)
			if err != nil {
				return nil, err
			}
			if broke {
				continue
			}
		}
		create = false
		pauses++
		if err := sleep(ctx, millis(l.policy.Backoff(pauses, rand.Float64()))); err != nil {
			return nil, waitError(err)
		}
	}
}

// held starts refreshing the lock's modification time, so that waiters do not take it
// for a dead holder's, and returns the function that releases it.
func (l *fileLock) held(me lockOwner) func() error {
	sweepTemps(l.path, l.host, l.pid, time.Now())
	if seen, exists, err := readLock(l.breakPath); err == nil && exists && l.isStale(seen, time.Now()) {
		removeIfSame(l.breakPath, seen)
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(millis(l.policy.Extend))
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-tick.C:
				_ = os.Chtimes(l.lockPath, now, now)
			}
		}
	}()
	return func() error {
		close(stop)
		<-done
		seen, exists, err := readLock(l.lockPath)
		switch {
		case err != nil:
			return fileError("unlock", l.lockPath, err)
		case !exists || seen.owner == nil || seen.owner.Nonce != me.Nonce:
			return fmt.Errorf("caspio client: unlock token state file lock %s: another process took the lock over while this one held it (for longer than %s without refreshing it?)", l.lockPath, millis(l.policy.TTL))
		}
		if err := os.Remove(l.lockPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fileError("unlock", l.lockPath, err)
		}
		return nil
	}
}

// isStale asks the core's policy whether a lock (or break) file is stale, as
// docs/token-file.md says: this file finds the facts (its age, whether its owner record is
// readable, whether its holder is a dead process of this host).
func (l *fileLock) isStale(seen seenLock, now time.Time) bool {
	o := seen.owner
	return l.policy.Stale(caspio.SeenLock{
		Age:        caspio.Millis(now.Sub(seen.mtime).Milliseconds()),
		Unreadable: o == nil,
		HolderGone: o != nil && l.host != "" && o.Host == l.host && o.PID != l.pid && !processAlive(o.PID),
	})
}

// breakStale removes the stale lock seen, holding the break file so that no two waiters
// remove locks at once. It reports false when another process is breaking it: then wait.
func (l *fileLock) breakStale(seen seenLock) (bool, error) {
	me := l.newOwner()
	record, err := json.Marshal(me)
	if err != nil {
		return false, err
	}
	created, err := createExclusive(l.path, l.breakPath, record, l.pid)
	if err != nil {
		return false, fileError("take over the stale lock", l.lockPath, err)
	}
	if !created {
		b, exists, err := readLock(l.breakPath)
		if err != nil {
			return false, fileError("take over the stale lock", l.lockPath, err)
		}
		if !exists {
			return true, nil
		}
		if l.isStale(b, time.Now()) {
			removeIfSame(l.breakPath, b)
			return true, nil
		}
		return false, nil
	}
	defer func() {
		if b, exists, err := readLock(l.breakPath); err == nil && exists && b.owner != nil && b.owner.Nonce == me.Nonce {
			_ = os.Remove(l.breakPath)
		}
	}()
	removeIfSame(l.lockPath, seen)
	return true, nil
}

// removeIfSame removes the file at path if it is still the one seen.
func removeIfSame(path string, seen seenLock) {
	if now, exists, err := readLock(path); err == nil && exists && now.same(seen) {
		_ = os.Remove(path)
	}
}

// readLock reads a lock file through one open file, so that content and modification
// time belong to the same file. A missing file gives exists == false.
func readLock(path string) (seen seenLock, exists bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return seenLock{}, false, nil
	}
	if err != nil {
		return seenLock{}, false, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return seenLock{}, false, err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxLockFile))
	if err != nil {
		return seenLock{}, false, err
	}
	return seenLock{data: data, mtime: info.ModTime(), owner: parseOwner(data)}, true, nil
}

// parseOwner reads an owner record: an object whose host and nonce are strings that are
// not empty and whose pid is a whole number from 1 to 2^31-1; other members are ignored.
// Anything else gives nil: the lock is unreadable.
func parseOwner(data []byte) *lockOwner {
	var o struct {
		Host  any `json:"host"`
		PID   any `json:"pid"`
		Nonce any `json:"nonce"`
	}
	if json.Unmarshal(data, &o) != nil {
		return nil
	}
	host, _ := o.Host.(string)
	nonce, _ := o.Nonce.(string)
	pid, _ := o.PID.(float64)
	if host == "" || nonce == "" || pid != math.Trunc(pid) || pid < 1 || pid > math.MaxInt32 {
		return nil
	}
	return &lockOwner{Host: host, PID: int(pid), Nonce: nonce}
}

// createExclusive creates target holding record, or reports false when it exists. The
// record is written to a temporary file first and hard-linked to target, so that target
// never exists without its record; where the file system has no hard links, target is
// created with O_EXCL and written at once. On Linux the temporary file has no name: it is
// linked to target straight away, and a process killed on the way leaves nothing behind.
func createExclusive(statePath, target string, record []byte, pid int) (bool, error) {
	dir := filepath.Dir(target)
	if f, err := createUnnamed(dir); err != nil {
		return false, err
	} else if f != nil {
		_, err = f.Write(record)
		if err == nil {
			err = linkUnnamed(f, target)
		}
		_ = f.Close()
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, fs.ErrExist), errors.Is(err, fs.ErrNotExist):
			return false, nil // as with a named file below
		case !errors.Is(err, errors.ErrUnsupported):
			return false, err
		}
	}
	tmp, err := os.CreateTemp(dir, tempPattern(statePath, pid))
	if err != nil {
		return false, err
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	_, err = tmp.Write(record)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, err
	}
	err = os.Link(tmpName, target)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrExist):
		return false, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil // the caller reads the lock and tries again
	}
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, err = f.Write(record)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err == nil, err
}

// hostTag names this host in temporary file names: 8 hex digits of the SHA-256 of its name.
func hostTag(host string) string {
	sum := sha256.Sum256([]byte(host))
	return hex.EncodeToString(sum[:4])
}

// tempPrefix is what the names of a token file's temporary files start with.
func tempPrefix(statePath string) string { return "." + filepath.Base(statePath) + ".tmp-" }

// tempPattern is the os.CreateTemp pattern of a temporary file of statePath written by
// this process: .NAME.tmp-TAG-PID-RANDOM.
func tempPattern(statePath string, pid int) string {
	host, _ := os.Hostname()
	return tempPrefix(statePath) + hostTag(host) + "-" + strconv.Itoa(pid) + "-*"
}

// tempName is a new name that tempPattern matches, for a file that linkUnnamed names.
func tempName(statePath string, pid int) string {
	return strings.TrimSuffix(tempPattern(statePath, pid), "*") + strconv.FormatUint(uint64(rand.Uint32()), 10)
}

// sweepTemps removes the temporary files of statePath whose writer died (on this host) or
// that are older than staleTemp: a killed writer's file holds live tokens. It is best
// effort; a failure leaves the files for the next sweep.
func sweepTemps(statePath, host string, pid int, now time.Time) {
	dir := filepath.Dir(statePath)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := tempPrefix(statePath)
	tag := hostTag(host)
	for _, e := range entries {
		name, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		parts := strings.Split(name, "-")
		if len(parts) == 3 && host != "" && parts[0] == tag && parts[2] != "" {
			if p, err := strconv.Atoi(parts[1]); err == nil && p > 0 && p != pid && !processAlive(p) {
				_ = os.Remove(filepath.Join(dir, e.Name()))
				continue
			}
		}
		if info, err := e.Info(); err == nil && now.Sub(info.ModTime()) > staleTemp {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
