package bottest

import "time"

// WaitUntil blocks until cond returns true, evaluating it again after every change
// the server sees (a call answered, an update queued), for at most timeout; it reports
// whether cond held. cond runs without the server's lock, so it may call Calls or
// Messages.
func (s *Server) WaitUntil(timeout time.Duration, cond func() bool) bool {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		changed := s.changed
		s.mu.Unlock()
		if cond() {
			return true
		}
		select {
		case <-changed:
		case <-timer.C:
			return cond()
		case <-s.done:
			return cond()
		}
	}
}
