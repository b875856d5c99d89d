package startstop

import "sync"

// Once is embedded (or held) by a component with a Start and a Stop. The
// zero value is ready to use.
type Once struct {
	mu      sync.Mutex
	started bool
	stopped bool
	done    chan struct{} // closed when the first Stop has finished
	err     error
}

// Start runs start unless the component was started or stopped already,
// and reports whether it ran.
func (o *Once) Start(start func()) bool {
	o.mu.Lock()
	if o.started || o.stopped {
		o.mu.Unlock()
		return false
	}
	o.started = true
	o.mu.Unlock()
	start()
	return true
}

// Stop runs stop once, telling it whether Start had run; later calls wait
// for the first to finish and return its error.
func (o *Once) Stop(stop func(started bool) error) error {
	o.mu.Lock()
	if o.stopped {
		done := o.done
		o.mu.Unlock()
		<-done
		return o.err
	}
	o.stopped = true
	o.done = make(chan struct{})
	started := o.started
	o.mu.Unlock()
	o.err = stop(started)
	close(o.done)
	return o.err
}
