package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// A kubelet cuts a termination message at 4 KiB, and a fallback to the
// log at 2 KiB or 80 lines.
const (
	maxMessage     = 4096
	maxLogFallback = 2048
	maxLogLines    = 80
)

// process is one run of a container as a local process.
type process struct {
	cmd         *exec.Cmd
	pid         int
	log         *os.File
	termination string
	stopSignal  syscall.Signal
	done        chan struct{}
	// Set once the process has ended (done is closed).
	exitCode int32
	signal   string
}

// argv is what a container runs: its command in place of the image's
// entrypoint (dropping the image's default command too), its args in
// place of the image's command, `$(VAR)` expanded in both.
func argv(container *corev1.Container, img *image, env map[string]string) []string {
	var out []string
	if len(container.Command) > 0 {
		for _, c := range container.Command {
			out = append(out, expand(c, env))
		}
	} else {
		out = append(out, img.Entrypoint...)
	}
	if len(container.Args) > 0 {
		for _, a := range container.Args {
			out = append(out, expand(a, env))
		}
	} else if len(container.Command) == 0 {
		out = append(out, img.Cmd...)
	}
	return out
}

// startProcess runs `spec` as a container: this binary's container-init
// in a new mount and UTS namespace, its own process group, killed if this
// process dies; its output appended to `logPath`.
func startProcess(spec *containerSpec, logPath string, stopSignal syscall.Signal) (*process, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(spec.Layer, 0o755); err != nil {
		return nil, err
	}
	if spec.TerminationLog != "" {
		if err := os.WriteFile(spec.TerminationLog, nil, 0o666); err != nil {
			return nil, err
		}
		os.Chmod(spec.TerminationLog, 0o666)
	}
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	reader, writer, err := os.Pipe()
	if err != nil {
		log.Close()
		return nil, err
	}
	cmd := exec.Command(self, containerInitCommand)
	cmd.Stdout = log
	cmd.Stderr = log
	cmd.ExtraFiles = []*os.File{reader}
	cmd.Env = []string{}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Unshareflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS,
		Setpgid:      true,
		Pdeathsig:    syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		reader.Close()
		writer.Close()
		log.Close()
		return nil, err
	}
	reader.Close()
	data, _ := json.Marshal(spec)
	writer.Write(data)
	writer.Close()
	p := &process{
		cmd:         cmd,
		pid:         cmd.Process.Pid,
		log:         log,
		termination: spec.TerminationLog,
		stopSignal:  stopSignal,
		done:        make(chan struct{}),
	}
	go func() {
		err := cmd.Wait()
		p.exitCode = 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			status := exit.Sys().(syscall.WaitStatus)
			switch {
			case status.Signaled():
				p.exitCode = 128 + int32(status.Signal())
				p.signal = status.Signal().String()
			default:
				p.exitCode = int32(status.ExitStatus())
			}
		} else if err != nil {
			p.exitCode = 128
		}
		log.Close()
		close(p.done)
	}()
	return p, nil
}

// stop sends the container's stop signal to its process group, and after
// `grace` SIGKILL.
func (p *process) stop(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	syscall.Kill(-p.pid, p.stopSignal)
	select {
	case <-p.done:
	case <-time.After(grace):
		syscall.Kill(-p.pid, syscall.SIGKILL)
		<-p.done
	}
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// message is the container's termination message: its file, or with
// FallbackToLogsOnError and an empty file after a failure, its log's end.
func (p *process) message(policy corev1.TerminationMessagePolicy, logPath string) string {
	data, _ := os.ReadFile(p.termination)
	if len(data) > maxMessage {
		data = data[:maxMessage]
	}
	if len(data) == 0 && policy == corev1.TerminationMessageFallbackToLogsOnError && p.exitCode != 0 {
		return tailLog(logPath, maxLogLines, maxLogFallback)
	}
	return string(data)
}

func tailLog(path string, lines, limit int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	data = bytes.TrimRight(data, "\n")
	if parts := bytes.Split(data, []byte("\n")); len(parts) > lines {
		data = bytes.Join(parts[len(parts)-lines:], []byte("\n"))
	}
	if len(data) > limit {
		data = data[len(data)-limit:]
	}
	return string(data)
}

func signalNamed(name string) syscall.Signal {
	switch strings.TrimPrefix(strings.ToUpper(name), "SIG") {
	case "INT":
		return syscall.SIGINT
	case "QUIT":
		return syscall.SIGQUIT
	case "KILL":
		return syscall.SIGKILL
	case "HUP":
		return syscall.SIGHUP
	}
	return syscall.SIGTERM
}

// ownVolume gives a volume to the pod's fsGroup as a kubelet does: group
// owned, group writable, new files in it the group's.
func ownVolume(path string, fsGroup *int64) {
	if fsGroup == nil {
		return
	}
	gid := int(*fsGroup)
	filepath.Walk(path, func(file string, info os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		if stat, ok := info.Sys().(*syscall.Stat_t); ok && int(stat.Gid) == gid {
			return nil
		}
		os.Lchown(file, -1, gid)
		if info.IsDir() {
			os.Chmod(file, info.Mode().Perm()|0o070|os.ModeSetgid)
		} else if info.Mode().IsRegular() {
			os.Chmod(file, info.Mode().Perm()|0o060)
		}
		return nil
	})
}

func writePid(path string, pid int) {
	os.WriteFile(path, []byte(strconv.Itoa(pid)+"\n"), 0o644)
}

func describeExit(code int32, signal string) string {
	if signal != "" {
		return fmt.Sprintf("killed by %s", signal)
	}
	return fmt.Sprintf("exit code %d", code)
}
