package syncer

import "github.com/lafssync/lafssync/syncer/api"

// subscriber is one event stream. Its channel is bounded: when it is
// full the oldest event is dropped, so a slow reader loses intermediate
// events but always gets the latest.
type subscriber struct {
	ch chan api.Event
}

// subscriberBuffer bounds each subscriber's queue.
const subscriberBuffer = 256

// Subscribe returns the folders' events until cancel is called.
func (m *Manager) Subscribe() (<-chan api.Event, func()) {
	s := &subscriber{ch: make(chan api.Event, subscriberBuffer)}
	m.mu.Lock()
	m.subs[s] = true
	m.mu.Unlock()
	return s.ch, func() {
		m.mu.Lock()
		if m.subs[s] {
			delete(m.subs, s)
			close(s.ch)
		}
		m.mu.Unlock()
	}
}

// publish hands an event to every subscriber without blocking.
func (m *Manager) publish(e api.Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for s := range m.subs {
		for {
			select {
			case s.ch <- e:
			default:
				select {
				case <-s.ch: // drop the oldest
				default:
				}
				continue
			}
			break
		}
	}
}
