package appnode

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/lafssync/lafssync/app/cli"
	"github.com/lafssync/lafssync/app/recovery"
	"github.com/lafssync/lafssync/app/ui/wizard"
	"github.com/lafssync/lafssync/node/introducer"
	"github.com/lafssync/lafssync/node/invite"
	"github.com/lafssync/lafssync/syncer/api"
)

// Restore implements wizard.Backend: it brings back a recovery kit made
// on another computer.
//
// A kit of a joined grid: the node joins the kit's grid the way the
// wizard's "join a grid" does (cli.JoinGrid: its introducers written
// beside the node's, the local grid's taken off, the kit's encoding),
// the kit's aliases are added, the node restarts on the grid, and every
// folder of the kit is added at into/NAME (recovery.RestoreFolders,
// retrying while the grid's servers are still being reached). Nothing is
// written when none of the kit's introducers is one this node can use (a
// Tahoe pb:// fURL needs Foolscap); such introducers are left out when
// others can be used.
//
// A kit wizard.KitOnItsComputer (made on the old computer's own local
// grid, or naming no introducer): only its aliases are restored, the
// grid and the folders are left alone. That grid's shares were on the
// old computer's disk, so the kit's caps cannot fetch anything here;
// adding its folders would only fail. The wizard explains this and asks
// first (the decision is written at wizard.KitOnItsComputer and in
// docs/tray.md).
//
// Restoring the same kit again is safe: introducers already known are
// not added twice, aliases and folders already there are left as they
// are.
func (s *Setup) Restore(ctx context.Context, k *recovery.Kit, into string) (wizard.Restored, error) {
	var r wizard.Restored
	if wizard.KitOnItsComputer(k) {
		ar, err := recovery.RestoreAliases(s.R.Dir, k)
		if err != nil {
			return r, fmt.Errorf("could not write the kit's aliases: %w", err)
		}
		r.Aliases = ar
		return r, nil
	}
	if into == "" {
		return r, errors.New("no folder was given for the kit's folders to go in")
	}
	inv, skipped, err := kitInvite(k)
	if err != nil {
		return r, err
	}
	if err := cli.JoinGrid(s.R.Dir, inv); err != nil {
		return r, fmt.Errorf("could not write the grid's settings: %w", err)
	}
	ar, err := recovery.RestoreAliases(s.R.Dir, k)
	if err != nil {
		return r, fmt.Errorf("joined the kit's grid, but could not write its aliases: %w", err)
	}
	r.Aliases = ar
	s.R.Restart()
	if _, err := s.R.Manager(ctx); err != nil {
		return r, fmt.Errorf("the node did not start on the kit's grid: %w", err)
	}
	r.Grid = fmt.Sprintf("Joined the kit's grid (%s).", countOf(len(inv.Introducers), "introducer", "introducers"))
	if inv.SharesTotal != 0 {
		r.Grid = fmt.Sprintf("Joined the kit's grid (%s): files are split into %d pieces, any %d of which bring them back.",
			countOf(len(inv.Introducers), "introducer", "introducers"), inv.SharesTotal, inv.SharesNeeded)
	}
	if len(skipped) > 0 {
		r.Grid += fmt.Sprintf(" Left out, as LAFS Sync cannot use them: %s.", strings.Join(skipped, ", "))
	}
	r.Folders = recovery.RestoreFolders(ctx, folderAdder{s}, k, into)
	return r, nil
}

// folderAdder gives each folder of a kit wizard.FolderTimeout of its own
// (within the restore's), so that one the grid never answers for does
// not use up the others' time.
type folderAdder struct{ s *Setup }

func (a folderAdder) Add(ctx context.Context, req api.AddRequest) (api.FolderStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, wizard.FolderTimeout)
	defer cancel()
	return a.s.Add(ctx, req)
}

// kitInvite is the kit's grid as an invite for cli.JoinGrid: the
// introducers this node can use (skipped names those it cannot, by
// petname) and the encoding.
func kitInvite(k *recovery.Kit) (inv invite.Invite, skipped []string, err error) {
	inv = invite.Invite{Introducers: map[string]string{},
		SharesNeeded: k.Grid.SharesNeeded, SharesHappy: k.Grid.SharesHappy, SharesTotal: k.Grid.SharesTotal}
	pets := make([]string, 0, len(k.Grid.Introducers))
	for pet := range k.Grid.Introducers {
		pets = append(pets, pet)
	}
	sort.Strings(pets)
	why := ""
	for _, pet := range pets {
		u := k.Grid.Introducers[pet]
		if pet == recovery.LocalPetname {
			continue // the old computer's own grid (KitOnItsComputer says no when others are there)
		}
		if _, err := introducer.ParseURL(u); err != nil {
			// Not the address itself: a Tahoe fURL's swissnum is a secret.
			skipped = append(skipped, fmt.Sprintf("%q", pet))
			if why == "" {
				why = fmt.Sprintf("introducer %q is not a lafs:// address", pet)
				if strings.HasPrefix(strings.TrimSpace(u), "pb://") {
					why = fmt.Sprintf("introducer %q is a Tahoe pb:// fURL, which needs Foolscap, and LAFS Sync does not speak it", pet)
				}
			}
			continue
		}
		inv.Introducers[pet] = strings.TrimSpace(u)
	}
	if len(inv.Introducers) == 0 {
		return inv, nil, fmt.Errorf("none of the kit's introducers can be used (%s); nothing was changed. Join the grid with an invite code or a lafs:// address instead, then add the folders", why)
	}
	return inv, skipped, nil
}

func countOf(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
