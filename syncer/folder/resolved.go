package folder

import (
	"os"
)

// Errors that report a condition — a name taken by a file on one side and
// a folder on the other, a change waiting to be sent — leave the status at
// the end of the first cycle where the condition no longer holds, whatever
// made it go: the user renamed the folder or the file away, or deleted
// it. Before, such an error stayed until some later success on the same
// path cleared it, which for a path the user had moved away never came.

// errCond is the condition a listed error reports; holds is called at the
// end of a cycle, without f.mu held. seq tells one setting of the error
// at a path from a later one.
type errCond struct {
	holds func() bool
	seq   uint64
}

// setErrWhile lists an error at p, as setErr does, that goes by itself
// once holds says its condition is over.
func (f *Folder) setErrWhile(p, msg, hint string, holds func() bool) {
	f.setErr(p, msg, hint)
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.st.errors[p]; !ok {
		return // the list is full
	}
	if f.st.errConds == nil {
		f.st.errConds = map[string]errCond{}
	}
	f.st.errSeq++
	f.st.errConds[p] = errCond{holds: holds, seq: f.st.errSeq}
}

// dropResolvedErrors drops the listed errors whose condition no longer
// holds. It costs a check (an Lstat or a database read) per such error,
// at most maxListed. Nothing is dropped while the folder's root cannot be
// read: an unmounted disk resolves nothing.
func (f *Folder) dropResolvedErrors() {
	f.mu.Lock()
	conds := make(map[string]errCond, len(f.st.errConds))
	for p, c := range f.st.errConds {
		conds[p] = c
	}
	f.mu.Unlock()
	if len(conds) == 0 {
		return
	}
	if fi, err := os.Stat(f.cfg.Root); err != nil || !fi.IsDir() {
		return
	}
	var gone []string
	for p, c := range conds {
		if !c.holds() {
			gone = append(gone, p)
		}
	}
	if len(gone) == 0 {
		return
	}
	f.mu.Lock()
	for _, p := range gone {
		if f.st.errConds[p].seq == conds[p].seq { // not set again meanwhile
			delete(f.st.errors, p)
			delete(f.st.errConds, p)
		}
	}
	f.mu.Unlock()
	f.log.Info("errors resolved", "count", len(gone), "paths", gone)
}

// localFile says whether something other than a directory is at folder
// path p: the condition of "the grid has a folder where this device has
// a file".
func (f *Folder) localFile(p string) bool {
	return f.exists(p) && !f.localDir(p)
}

// changeWaiting says whether the database still has a change of p to
// send (a pending record): the condition of a failed commit of p. A record
// dropped (the new file was moved or deleted before it reached the grid)
// or settled some other way leaves nothing to report.
func (f *Folder) changeWaiting(p string) bool {
	r, ok, err := f.cfg.DB.Get(p)
	return err != nil || (ok && r.Pending)
}
