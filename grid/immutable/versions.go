package immutable

import (
	"context"
	"sync"
	"time"

	"github.com/lafssync/lafssync/grid/storage"
)

// VersionCache keeps each server's answer to Version (its share-size
// limit and free space) for a while, so that an upload does not ask
// every server for it before every file: a first sync of 10,000 small
// files would otherwise send 100,000 such requests to a 10-server grid.
// The answer only pre-filters servers: a server that has filled up since
// refuses the allocation, and the upload places around it (allocate), as
// it would if the space ran out between the question and the allocation.
// The free space kept is lowered by what each allocation reserves, and a
// server's entry is dropped when it refuses or fails a request, so the
// next upload asks it again.
//
// A Client holds it by pointer, so copies of the Client (node/client's
// WithServers) share one cache; a nil cache asks every time.
type VersionCache struct {
	maxAge time.Duration
	now    func() time.Time

	mu sync.Mutex
	m  map[string]cachedVersion // by server ID
}

type cachedVersion struct {
	v  storage.Version
	at time.Time
}

// NewVersionCache returns a cache whose answers are used for up to maxAge.
func NewVersionCache(maxAge time.Duration) *VersionCache {
	return &VersionCache{maxAge: maxAge, now: time.Now, m: map[string]cachedVersion{}}
}

// DefaultVersionMaxAge is how long node clients use a server's answer.
const DefaultVersionMaxAge = time.Minute

// version returns srv's answer, from the cache when it is fresh.
func (vc *VersionCache) version(ctx context.Context, srv storage.Server) (storage.Version, error) {
	if vc == nil {
		return srv.Version(ctx)
	}
	id := srv.Info().ID
	vc.mu.Lock()
	e, ok := vc.m[id]
	vc.mu.Unlock()
	if ok && vc.now().Sub(e.at) < vc.maxAge {
		return e.v, nil
	}
	v, err := srv.Version(ctx)
	vc.mu.Lock()
	defer vc.mu.Unlock()
	if err != nil {
		delete(vc.m, id)
		return v, err
	}
	vc.m[id] = cachedVersion{v: v, at: vc.now()}
	return v, nil
}

// reserved lowers srv's free space kept by n bytes, which an allocation
// just reserved there.
func (vc *VersionCache) reserved(srv storage.Server, n uint64) {
	if vc == nil {
		return
	}
	vc.mu.Lock()
	defer vc.mu.Unlock()
	id := srv.Info().ID
	if e, ok := vc.m[id]; ok {
		e.v.AvailableSpace -= min(n, e.v.AvailableSpace)
		vc.m[id] = e
	}
}

// forget drops srv's answer: it refused or failed, so the next upload
// asks it again.
func (vc *VersionCache) forget(srv storage.Server) {
	if vc == nil {
		return
	}
	vc.mu.Lock()
	defer vc.mu.Unlock()
	delete(vc.m, srv.Info().ID)
}
