package cli

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lafssync/lafssync/grid/immutable"
)

// An upload that cannot reach shares.happy servers is said with the
// numbers it saw and where to look, never "0 servers considered" or
// "connect to more storage servers"; the grid's error still matches.
func TestInUserWordsUnhappyUpload(t *testing.T) {
	for _, c := range []struct {
		name string
		err  *immutable.UnhappyError
		want string
	}{
		{"one of two reachable", &immutable.UnhappyError{Happiness: 1, Needed: 2, Servers: 1, Usable: 1},
			"upload failed: only 1 of the 2 storage servers an upload needs (shares.happy = 2) are reachable from this node; " +
				"'lafs reachability' says why and what to do (an upload helper, a relay or a port forward)"},
		{"a server's reason", &immutable.UnhappyError{Happiness: 2, Needed: 3, Servers: 3, Usable: 2, Reasons: []string{"s3: connection refused"}},
			"upload failed: only 2 of the 3 storage servers an upload needs (shares.happy = 3) are reachable from this node (s3: connection refused); " +
				"'lafs reachability' says why and what to do (an upload helper, a relay or a port forward)"},
		{"reachable but full", &immutable.UnhappyError{Happiness: 1, Needed: 2, Servers: 2, Usable: 2, Reasons: []string{"s2: no space"}},
			"upload failed: this node reaches 2 storage servers, but they took shares on only 1 of the 2 distinct servers an upload needs (shares.happy = 2) (s2: no space); " +
				"'lafs status' shows each server's free space; try again, or lower shares.happy in tahoe.cfg"},
	} {
		t.Run(c.name, func(t *testing.T) {
			wrapped := fmt.Errorf("upload file: %w", c.err)
			got := inUserWords(wrapped)
			if got.Error() != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
			var ue *immutable.UnhappyError
			if !errors.As(got, &ue) || ue != c.err {
				t.Errorf("the worded error no longer matches the *immutable.UnhappyError")
			}
			if strings.Contains(got.Error(), "considered") {
				t.Errorf("the worded error counts servers considered: %q", got)
			}
		})
	}
}
