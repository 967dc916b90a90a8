package dirnode

import (
	"errors"
	"testing"

	"github.com/lafssync/lafssync/grid/cap"
)

func TestLinkReplacePolicies(t *testing.T) {
	d := fakeDir(t, &fakeFile{}, 3)
	sub := fakeDir(t, &fakeFile{}, 4).Cap()
	file, err := cap.Parse(someFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetCap(ctx, "dir", sub, nil, false); err != nil {
		t.Fatal(err)
	}
	if err := d.SetCap(ctx, "file", file, nil, false); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		replace  Replace
		want     error
		replaced bool
	}{
		{"new", ReplaceNothing, nil, false},
		{"file", ReplaceNothing, ErrExists, false},
		{"dir", ReplaceNothing, ErrExists, false},
		{"file", ReplaceFiles, nil, true},
		{"dir", ReplaceFiles, ErrIsDirectory, false},
		{"dir", ReplaceAny, nil, true},
		{"..", ReplaceAny, ErrBadName, false},
	} {
		if err := d.Check(ctx, c.name, c.replace); !errors.Is(err, c.want) && (err != nil || c.want != nil) {
			t.Errorf("Check %q %v: %v, want %v", c.name, c.replace, err, c.want)
		}
		replaced, err := d.Link(ctx, c.name, file, nil, c.replace)
		if (c.want == nil && err != nil) || (c.want != nil && !errors.Is(err, c.want)) || replaced != c.replaced {
			t.Errorf("Link %q %v: replaced %v, %v; want %v, %v", c.name, c.replace, replaced, err, c.replaced, c.want)
		}
		if c.name == "dir" && c.want != nil {
			if e, err := d.Get(ctx, "dir"); err != nil || !IsDirEntry(e) {
				t.Errorf("directory gone after a refused link: %+v %v", e, err)
			}
		}
	}
}
