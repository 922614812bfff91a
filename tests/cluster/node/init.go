package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

const containerInitCommand = "container-init"

// What the first process of a container sets up before it becomes the
// container's command. It arrives on file descriptor 3, never on disk:
// the environment holds Secrets' values.
type containerSpec struct {
	// An empty directory the container's writable layer and root are
	// mounted in.
	Layer        string      `json:"layer"`
	Hostname     string      `json:"hostname"`
	PodIP        string      `json:"podIP"`
	Mounts       []mountSpec `json:"mounts"`
	ReadOnlyRoot bool        `json:"readOnlyRoot"`
	// The host file behind the termination message path.
	TerminationLog  string            `json:"terminationLog"`
	TerminationPath string            `json:"terminationPath"`
	Users           map[string]string `json:"users"`
	UID             *int64            `json:"uid"`
	GID             *int64            `json:"gid"`
	Groups          []int64           `json:"groups"`
	WorkingDir      string            `json:"workingDir"`
	Argv            []string          `json:"argv"`
	Env             []string          `json:"env"`
}

type mountSpec struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly"`
}

// containerInit runs as the first process of a new mount and UTS
// namespace (made by the kubelet stand-in when it started this process):
// it builds the container's root and becomes the container's command.
func containerInit() error {
	// Credentials and the parent-death signal are set on this thread,
	// the one that becomes the container's command.
	runtime.LockOSThread()
	spec, err := readSpec()
	if err != nil {
		return err
	}
	root, err := buildRoot(spec)
	if err != nil {
		return err
	}
	if spec.Hostname != "" {
		if err := syscall.Sethostname([]byte(spec.Hostname)); err != nil {
			return fmt.Errorf("hostname: %w", err)
		}
	}
	if err := syscall.Chroot(root); err != nil {
		return fmt.Errorf("chroot %s: %w", root, err)
	}
	dir := spec.WorkingDir
	if dir == "" {
		dir = "/"
	}
	if err := os.Chdir(dir); err != nil {
		return fmt.Errorf("working directory %s: %w", dir, err)
	}
	if err := dropPrivileges(spec); err != nil {
		return err
	}
	if len(spec.Argv) == 0 {
		return fmt.Errorf("the container has no command")
	}
	path := spec.Argv[0]
	if !strings.Contains(path, "/") {
		os.Setenv("PATH", lookup(spec.Env, "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"))
		found, err := exec.LookPath(path)
		if err != nil {
			return fmt.Errorf("exec: %q: executable file not found in $PATH", path)
		}
		path = found
	}
	// Changing credentials cleared the parent-death signal: set it again,
	// so the container dies with the node.
	syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0)
	return syscall.Exec(path, spec.Argv, spec.Env)
}

func readSpec() (*containerSpec, error) {
	pipe := os.NewFile(3, "spec")
	data, err := io.ReadAll(pipe)
	pipe.Close()
	if err != nil {
		return nil, fmt.Errorf("read the container's spec: %w", err)
	}
	var spec containerSpec
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, fmt.Errorf("the container's spec: %w", err)
	}
	return &spec, nil
}

func lookup(env []string, name, fallback string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if value, ok := strings.CutPrefix(env[i], name+"="); ok {
			return value
		}
	}
	return fallback
}

func mount(source, target, fstype string, flags uintptr, data string) error {
	if err := syscall.Mount(source, target, fstype, flags, data); err != nil {
		return fmt.Errorf("mount %s on %s: %w", source, target, err)
	}
	return nil
}

// buildRoot makes the container's root under spec.Layer: the host's root
// as the lower layer of an overlay whose upper layer is a tmpfs, so
// nothing the container writes (or the mount points made for it) reaches
// the host; fresh /dev, /tmp and /run; the volumes at their mount paths.
func buildRoot(spec *containerSpec) (string, error) {
	// The namespace's mounts stay in it (Go made "/" private already).
	if err := mount("tmpfs", spec.Layer, "tmpfs", 0, "mode=0755"); err != nil {
		return "", err
	}
	upper, work, root := filepath.Join(spec.Layer, "upper"), filepath.Join(spec.Layer, "work"), filepath.Join(spec.Layer, "root")
	for _, dir := range []string{upper, work, root} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", err
		}
	}
	if err := mount("overlay", root, "overlay", 0, fmt.Sprintf("lowerdir=/,upperdir=%s,workdir=%s", upper, work)); err != nil {
		return "", err
	}
	at := func(path string) string { return filepath.Join(root, path) }
	if err := mount("/proc", at("/proc"), "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
		return "", err
	}
	if err := mount("/sys", at("/sys"), "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
		return "", err
	}
	if err := buildDev(at("/dev")); err != nil {
		return "", err
	}
	for _, dir := range []string{"/tmp", "/run"} {
		if err := mount("tmpfs", at(dir), "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "mode=1777"); err != nil {
			return "", err
		}
	}
	if err := writeIdentity(root, spec); err != nil {
		return "", err
	}
	for _, m := range spec.Mounts {
		if err := bindVolume(root, m); err != nil {
			return "", err
		}
	}
	if spec.TerminationLog != "" {
		path := spec.TerminationPath
		if path == "" {
			path = "/dev/termination-log"
		}
		if err := bindVolume(root, mountSpec{Source: spec.TerminationLog, Target: path}); err != nil {
			return "", err
		}
	}
	if spec.ReadOnlyRoot {
		if err := mount(root, root, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
			return "", err
		}
	}
	return root, nil
}

// buildDev makes a container's /dev: a tmpfs with the usual devices bound
// from the host's, its own shm and the host's pts.
func buildDev(dev string) error {
	if err := mount("tmpfs", dev, "tmpfs", syscall.MS_NOSUID, "mode=0755"); err != nil {
		return err
	}
	for _, name := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		target := filepath.Join(dev, name)
		if err := os.WriteFile(target, nil, 0o666); err != nil {
			return err
		}
		if err := mount("/dev/"+name, target, "", syscall.MS_BIND, ""); err != nil {
			return err
		}
	}
	links := map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx"}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dev, name)); err != nil {
			return err
		}
	}
	for _, dir := range []string{"pts", "shm"} {
		if err := os.Mkdir(filepath.Join(dev, dir), 0o755); err != nil {
			return err
		}
	}
	if err := mount("/dev/pts", filepath.Join(dev, "pts"), "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
		return err
	}
	return mount("shm", filepath.Join(dev, "shm"), "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "mode=1777")
}

// bindVolume binds a host directory or file at its path in the container.
func bindVolume(root string, m mountSpec) error {
	target := filepath.Join(root, m.Target)
	info, err := os.Stat(m.Source)
	if err != nil {
		return fmt.Errorf("volume %s: %w", m.Source, err)
	}
	if info.IsDir() {
		if err := os.MkdirAll(target, 0o755); err != nil {
			return err
		}
	} else {
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if _, err := os.Stat(target); os.IsNotExist(err) {
			if err := os.WriteFile(target, nil, 0o644); err != nil {
				return err
			}
		}
	}
	if err := mount(m.Source, target, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
		return err
	}
	if m.ReadOnly {
		return mount(m.Source, target, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, "")
	}
	return nil
}

// writeIdentity gives the container the /etc/hosts a kubelet writes and
// names its user where the host's /etc/passwd does not.
func writeIdentity(root string, spec *containerSpec) error {
	hosts := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
	if spec.PodIP != "" && spec.Hostname != "" {
		hosts += fmt.Sprintf("%s\t%s\n", spec.PodIP, spec.Hostname)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/hosts"), []byte(hosts), 0o644); err != nil {
		return err
	}
	if spec.UID == nil {
		return nil
	}
	passwd, err := os.ReadFile(filepath.Join(root, "etc/passwd"))
	if err != nil {
		return err
	}
	uid := strconv.FormatInt(*spec.UID, 10)
	for _, line := range strings.Split(string(passwd), "\n") {
		if fields := strings.Split(line, ":"); len(fields) > 2 && fields[2] == uid {
			return nil
		}
	}
	name := spec.Users[uid]
	if name == "" {
		name = "user" + uid
	}
	gid := uid
	if spec.GID != nil {
		gid = strconv.FormatInt(*spec.GID, 10)
	}
	// A name the host gives another user id is this container's own here.
	var kept []string
	for _, line := range strings.Split(strings.TrimRight(string(passwd), "\n"), "\n") {
		if !strings.HasPrefix(line, name+":") {
			kept = append(kept, line)
		}
	}
	kept = append(kept, fmt.Sprintf("%s:x:%s:%s::/tmp:/bin/sh", name, uid, gid))
	if err := os.WriteFile(filepath.Join(root, "etc/passwd"), []byte(strings.Join(kept, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	group, err := os.ReadFile(filepath.Join(root, "etc/group"))
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(group), "\n") {
		if fields := strings.Split(line, ":"); len(fields) > 2 && fields[2] == gid {
			return nil
		}
	}
	return os.WriteFile(filepath.Join(root, "etc/group"), append(group, []byte(fmt.Sprintf("%s:x:%s:\n", name, gid))...), 0o644)
}

func dropPrivileges(spec *containerSpec) error {
	groups := make([]int, 0, len(spec.Groups))
	for _, g := range spec.Groups {
		groups = append(groups, int(g))
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if spec.GID != nil {
		if err := syscall.Setgid(int(*spec.GID)); err != nil {
			return fmt.Errorf("setgid: %w", err)
		}
	}
	if spec.UID != nil {
		if err := syscall.Setuid(int(*spec.UID)); err != nil {
			return fmt.Errorf("setuid: %w", err)
		}
	}
	return nil
}
