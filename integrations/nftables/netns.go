package nftables

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/firebreak-ir/firebreak/activities"
	"golang.org/x/sys/unix"
)

// NetnsDir is where named network namespaces live (as `ip netns add`
// makes them).
const NetnsDir = "/run/netns"

// Capability bits in /proc/self/status.
const (
	capNetAdmin = 12
	capSysAdmin = 21
)

// checkNetnsName refuses a namespace name that is not one file name.
func checkNetnsName(name string) error {
	switch {
	case name == "":
		return nil
	case len(name) > 255:
		return fmt.Errorf("%w: netns name is longer than 255 bytes", activities.ErrPermanent)
	case strings.ContainsAny(name, "/\x00"), name == ".", name == "..":
		return fmt.Errorf("%w: netns %q is not a namespace name (as `ip netns list` shows them; no '/' or NUL)",
			activities.ErrPermanent, clean(name, 64, false))
	}
	for _, r := range name {
		if r < ' ' || r == 0x7f {
			return fmt.Errorf("%w: netns %q has a control character", activities.ErrPermanent, clean(name, 64, false))
		}
	}
	return nil
}

// where names the namespace for messages.
func (a *Adapter) where() string {
	if a.netns == "" {
		return "the worker's own network namespace"
	}
	return "network namespace " + a.netns
}

// openNetns opens the named namespace and returns its file descriptor and
// a function that closes it; fd is -1 for the worker's own namespace.
func (a *Adapter) openNetns() (int, func(), error) {
	if err := checkCaps(a.netns != ""); err != nil {
		return -1, nil, err
	}
	if a.netns == "" {
		return -1, func() {}, nil
	}
	path := NetnsDir + "/" + a.netns
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, unix.ENOENT):
		// Retryable: a gateway's namespace may be made at boot after the
		// worker starts; the message says what to do meanwhile.
		return -1, nil, fmt.Errorf("network namespace %s does not exist (no %s): create it (ip netns add %s) "+
			"or fix the netns setting of the nftables integration", a.netns, path, a.netns)
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return -1, nil, fmt.Errorf("%w: cannot open %s: %v; run the worker as root or with CAP_SYS_ADMIN and CAP_NET_ADMIN",
			activities.ErrPermanent, path, err)
	case err != nil:
		return -1, nil, fmt.Errorf("open network namespace %s (%s): %w", a.netns, path, err)
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil || st.Type != unix.NSFS_MAGIC {
		unix.Close(fd)
		return -1, nil, fmt.Errorf("%s is not a network namespace (ip netns add makes one); fix the netns setting of the nftables integration", path)
	}
	return fd, func() { unix.Close(fd) }, nil
}

// checkCaps fails, wrapping activities.ErrPermanent, when the worker lacks
// CAP_NET_ADMIN (and CAP_SYS_ADMIN, needed to enter a named namespace).
// A worker whose capabilities cannot be read is let through: the kernel
// still has the last word.
func checkCaps(enter bool) error {
	eff, ok := effectiveCaps()
	if !ok {
		return nil
	}
	var missing []string
	if eff&(1<<capNetAdmin) == 0 {
		missing = append(missing, "CAP_NET_ADMIN")
	}
	if enter && eff&(1<<capSysAdmin) == 0 {
		missing = append(missing, "CAP_SYS_ADMIN (to enter a named network namespace)")
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("%w: the worker lacks %s; run it as root or grant the capabilities "+
		"(systemd: AmbientCapabilities=CAP_NET_ADMIN CAP_SYS_ADMIN)", activities.ErrPermanent, strings.Join(missing, " and "))
}

// effectiveCaps reads the process's effective capability set.
func effectiveCaps() (uint64, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// netlinkErr turns an error from netlink into the adapter's error: a
// permission refusal wraps activities.ErrPermanent with what to do; any
// other failure is retryable. The library flattens some errors to text,
// so the refusal is also recognised by its message.
func (a *Adapter) netlinkErr(ctx context.Context, what string, err error) error {
	if errors.Is(err, syscall.EPERM) || errors.Is(err, os.ErrPermission) || strings.Contains(err.Error(), "operation not permitted") {
		return fmt.Errorf("%w: nftables in %s: %s: permission denied; the worker needs CAP_NET_ADMIN (run it as root or grant the capability)",
			activities.ErrPermanent, a.where(), what)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("nftables in %s: %s: %w (%v)", a.where(), what, ctx.Err(), err)
	}
	return fmt.Errorf("nftables in %s: %s: %w", a.where(), what, err)
}
