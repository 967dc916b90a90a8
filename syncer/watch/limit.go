package watch

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// errENOSPC is what inotify_add_watch returns at fs.inotify.max_user_watches.
var errENOSPC error = syscall.ENOSPC

// isLimit says whether err means the system's limit of watches (or of
// the open files kqueue needs, or of inotify instances) is reached, as
// opposed to a directory that went away or cannot be read.
func isLimit(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

// limitMessage is the Status message of the polling fallback: what
// happened, to which folder, what the watcher does instead, and how to
// lift the limit.
func limitMessage(root string, cause error, maxWatches int, poll, retry time.Duration) string {
	instead := fmt.Sprintf("checking for changes %s instead (watching is tried again %s, and when the node restarts)", every(poll), every(retry))
	switch runtime.GOOS {
	case "linux", "android":
		if errors.Is(cause, syscall.ENOSPC) {
			n := maxWatches
			if n <= 0 {
				n = procInt("/proc/sys/fs/inotify/max_user_watches")
			}
			return fmt.Sprintf("the system's file-watch limit (fs.inotify.max_user_watches = %s) is reached while watching %s: %s. "+
				"Raise it with: sudo sysctl fs.inotify.max_user_watches=524288 (and add fs.inotify.max_user_watches=524288 to /etc/sysctl.conf to keep it)",
				known(n), root, instead)
		}
		return fmt.Sprintf("the system's limit of file watchers (fs.inotify.max_user_instances = %s) or of open files is reached while watching %s: %s. "+
			"Raise it with: sudo sysctl fs.inotify.max_user_instances=1024 (and add it to /etc/sysctl.conf to keep it)",
			known(procInt("/proc/sys/fs/inotify/max_user_instances")), root, instead)
	case "windows":
		return fmt.Sprintf("the system's limit of directory watches is reached while watching %s: %s. "+
			"Close other programs that watch many folders, or exclude large subfolders in .lafsignore", root, instead)
	default: // kqueue: one open file per watched file and directory
		return fmt.Sprintf("the limit of open files is reached while watching %s (every watched file and folder needs one): %s. "+
			"Raise it with: ulimit -n 65536 before starting the node, or exclude large subfolders in .lafsignore", root, instead)
	}
}

func procInt(name string) int {
	b, err := os.ReadFile(name)
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return n
}

func known(n int) string {
	if n <= 0 {
		return "unknown"
	}
	return strconv.Itoa(n)
}
