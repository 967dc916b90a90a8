// Command gen renders LAFS Sync's icons from their SVG sources: the PNGs,
// the Windows .ico and macOS .icns under icons/, and the contact sheet
// docs/screenshots/icons.png. Run it from the repository root with
// `make icons`.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/lafssync/lafssync/icons/render"
)

func main() {
	dir := flag.String("dir", "icons", "the icons directory: reads src/, writes png/, the .ico and the .icns")
	sheet := flag.String("sheet", render.SheetName, "where to write the contact sheet (empty: do not)")
	flag.Parse()
	if err := run(*dir, *sheet); err != nil {
		fmt.Fprintln(os.Stderr, "icons:", err)
		os.Exit(1)
	}
}

func run(dir, sheet string) error {
	set, err := render.Set(os.DirFS(filepath.Join(dir, "src")))
	if err != nil {
		return fmt.Errorf("render %s: %w", filepath.Join(dir, "src"), err)
	}
	names := make([]string, 0, len(set))
	for name := range set {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, set[name], 0o644); err != nil {
			return err
		}
	}
	// Drop PNGs no longer produced (a size or state removed from render).
	old, err := filepath.Glob(filepath.Join(dir, "png", "*.png"))
	if err != nil {
		return err
	}
	for _, path := range old {
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if _, ok := set[filepath.ToSlash(rel)]; !ok {
			if err := os.Remove(path); err != nil {
				return err
			}
			fmt.Printf("icons: removed %s\n", path)
		}
	}
	fmt.Printf("icons: wrote %d files under %s\n", len(names), dir)
	if sheet == "" {
		return nil
	}
	data, err := render.Sheet(set)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(sheet), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(sheet, data, 0o644); err != nil {
		return err
	}
	fmt.Printf("icons: wrote %s\n", sheet)
	return nil
}
