// Package chaos runs real `detour agent` processes, one per simulated
// datacenter, each in a network namespace of its own, and injects faults
// into them: kills, freezes, partitions, WAN latency and loss, flapping
// sites and restarts. A timeline sampled over DNS and the API is checked
// against the invariants of docs/reliability.md.
//
// Each datacenter's namespace has two interfaces. s0 is on the service
// network, a kernel bridge in the root namespace: the sites, DNS and API
// listen there, and the test (in the root namespace) reaches them over it.
// r0 is on the node network, a TAP device whose frames go through a switch
// in the test process: Raft and forwarding travel there, so a partition,
// an asymmetric partition, latency, jitter and loss between nodes are rules
// of that switch, and the sites stay reachable from every node throughout.
package chaos

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrUnavailable is returned when this machine cannot run the lab: not
// root, or no `ip netns`.
var ErrUnavailable = errors.New("chaos: network namespaces unavailable")

// Lab is the networks of one run: a service bridge, a node switch, and a
// namespace per datacenter. Close removes all of it.
type Lab struct {
	Slot   int // third octet of the run's subnets, unique among live runs
	ip     string
	lock   *os.File
	bridge string
	NS     []string // namespace names, one per datacenter
	Switch *Switch
	made   []string // links made in the root namespace
}

// ServiceIP is datacenter i's (from 0) address on the service network.
func (l *Lab) ServiceIP(i int) string { return fmt.Sprintf("10.78.%d.%d", l.Slot, i+1) }

// NodeIP is datacenter i's address on the node network.
func (l *Lab) NodeIP(i int) string { return fmt.Sprintf("10.77.%d.%d", l.Slot, i+1) }

// Available says why this machine cannot run the lab, or nil.
func Available() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: not root", ErrUnavailable)
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		return fmt.Errorf("%w: no ip command", ErrUnavailable)
	}
	name := fmt.Sprintf("dchk%d-%d", os.Getpid(), rand.Uint32())
	if out, err := exec.Command(ip, "netns", "add", name).CombinedOutput(); err != nil {
		return fmt.Errorf("%w: ip netns add: %s", ErrUnavailable, strings.TrimSpace(string(out)))
	}
	_ = exec.Command(ip, "netns", "del", name).Run()
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		return fmt.Errorf("%w: no /dev/net/tun", ErrUnavailable)
	}
	return nil
}

// NewLab makes n datacenters' namespaces and both networks. On error,
// whatever was made is removed.
func NewLab(n int) (l *Lab, err error) {
	ip, err := exec.LookPath("ip")
	if err != nil {
		return nil, fmt.Errorf("%w: no ip command", ErrUnavailable)
	}
	l = &Lab{ip: ip}
	if err := l.claimSlot(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			l.Close()
		}
	}()
	l.bridge = fmt.Sprintf("dchs%d", l.Slot)
	_ = l.run("link", "del", l.bridge) // left by a run that was killed
	if err := l.run("link", "add", l.bridge, "type", "bridge"); err != nil {
		return nil, err
	}
	l.made = append(l.made, l.bridge)
	if err := l.run("addr", "add", fmt.Sprintf("10.78.%d.254/24", l.Slot), "dev", l.bridge); err != nil {
		return nil, err
	}
	if err := l.run("link", "set", l.bridge, "up"); err != nil {
		return nil, err
	}
	l.Switch = newSwitch()
	for i := range n {
		if err := l.addDatacenter(i); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// claimSlot takes the first free /24 slot, held by a lock file for the
// run's life, so parallel runs never share names or addresses.
func (l *Lab) claimSlot() error {
	// One directory for every run, whatever its TMPDIR: /run (the lab
	// needs root anyway).
	dir := "/run"
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		dir = os.TempDir()
	}
	start := os.Getpid() % 200
	for k := range 200 {
		slot := 20 + (start+k)%200
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("detour-chaos-%d.lock", slot)), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return fmt.Errorf("chaos: slot lock: %w", err)
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
			l.Slot, l.lock = slot, f
			return nil
		}
		f.Close()
	}
	return errors.New("chaos: no free slot")
}

func (l *Lab) addDatacenter(i int) error {
	ns := fmt.Sprintf("dchaos%d-%d", l.Slot, i+1)
	_ = l.run("netns", "del", ns)
	if err := l.run("netns", "add", ns); err != nil {
		return err
	}
	l.NS = append(l.NS, ns)
	veth := fmt.Sprintf("dcs%dn%d", l.Slot, i+1)
	steps := [][]string{
		{"link", "add", veth, "type", "veth", "peer", "name", "s0", "netns", ns},
		{"link", "set", veth, "master", l.bridge, "up"},
		{"-n", ns, "addr", "add", l.ServiceIP(i) + "/24", "dev", "s0"},
		{"-n", ns, "link", "set", "s0", "up"},
		{"-n", ns, "link", "set", "lo", "up"},
	}
	for j, s := range steps {
		if err := l.run(s...); err != nil {
			return err
		}
		if j == 0 {
			l.made = append(l.made, veth)
		}
	}
	tap, err := openTAP(ns, "r0")
	if err != nil {
		return err
	}
	l.Switch.addPort(tap)
	for _, s := range [][]string{
		{"-n", ns, "addr", "add", l.NodeIP(i) + "/24", "dev", "r0"},
		{"-n", ns, "link", "set", "r0", "up"},
	} {
		if err := l.run(s...); err != nil {
			return err
		}
	}
	return nil
}

// Close removes the namespaces and links and frees the slot. It is safe
// to call more than once.
func (l *Lab) Close() {
	if l.Switch != nil {
		l.Switch.close()
	}
	for _, ns := range l.NS {
		_ = l.run("netns", "del", ns)
	}
	l.NS = nil
	for _, link := range l.made {
		_ = l.run("link", "del", link)
	}
	l.made = nil
	if l.lock != nil {
		l.lock.Close()
		l.lock = nil
	}
}

// Command is a command run in datacenter i's namespace.
func (l *Lab) Command(i int, name string, args ...string) *exec.Cmd {
	return exec.Command(l.ip, append([]string{"netns", "exec", l.NS[i], name}, args...)...)
}

func (l *Lab) run(args ...string) error {
	out, err := exec.Command(l.ip, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("chaos: ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// InNetns runs fn on an OS thread switched into namespace ns: sockets it
// makes belong to ns and stay there.
func InNetns(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("chaos: own netns: %w", err)
			return
		}
		defer unix.Close(orig)
		target, err := unix.Open(filepath.Join("/run/netns", ns), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("chaos: netns %s: %w", ns, err)
			return
		}
		defer unix.Close(target)
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("chaos: setns %s: %w", ns, err)
			return
		}
		ferr := fn()
		// A thread that cannot go back dies with this goroutine.
		if unix.Setns(orig, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- ferr
	}()
	return <-errc
}

// openTAP makes TAP device name inside namespace ns and returns its file.
func openTAP(ns, name string) (*os.File, error) {
	var f *os.File
	err := InNetns(ns, func() error {
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("chaos: /dev/net/tun: %w", err)
		}
		var req [unix.IFNAMSIZ + 64]byte
		copy(req[:], name)
		*(*uint16)(unsafe.Pointer(&req[unix.IFNAMSIZ])) = unix.IFF_TAP | unix.IFF_NO_PI
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TUNSETIFF, uintptr(unsafe.Pointer(&req[0]))); errno != 0 {
			unix.Close(fd)
			return fmt.Errorf("chaos: TUNSETIFF %s: %w", name, syscall.Errno(errno))
		}
		if err := unix.SetNonblock(fd, true); err != nil {
			unix.Close(fd)
			return fmt.Errorf("chaos: tap nonblock: %w", err)
		}
		f = os.NewFile(uintptr(fd), name)
		return nil
	})
	return f, err
}
