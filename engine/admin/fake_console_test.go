package admin

import (
	"context"
	"slices"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// The fake's console half: pause, history, audit, processes.

func (f *fakeStore) SetPaused(_ context.Context, listener string, paused bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failAll != nil {
		return f.failAll
	}
	if f.paused == nil {
		f.paused = map[string]time.Time{}
	}
	if _, was := f.paused[listener]; paused && !was {
		f.paused[listener] = time.Now().UTC()
	} else if !paused {
		delete(f.paused, listener)
	}
	return nil
}

func (f *fakeStore) AddSamples(_ context.Context, samples []engine.Sample) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.samples = append(f.samples, samples...)
	return nil
}

func (f *fakeStore) Samples(_ context.Context, from, to time.Time) ([]engine.Sample, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failAll != nil {
		return nil, f.failAll
	}
	var out []engine.Sample
	for _, s := range f.samples {
		if !s.Minute.Before(from) && s.Minute.Before(to) {
			out = append(out, s)
		}
	}
	return out, nil
}

func (f *fakeStore) Audit(_ context.Context, e engine.AuditEntry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.audit = append(f.audit, e)
	return nil
}

func (f *fakeStore) ListAudit(_ context.Context, limit int, before time.Time) ([]engine.AuditEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []engine.AuditEntry
	for i := len(f.audit) - 1; i >= 0 && len(out) < limit; i-- {
		if before.IsZero() || f.audit[i].At.Before(before) {
			out = append(out, f.audit[i])
		}
	}
	return out, nil
}

func (f *fakeStore) Processes(context.Context) ([]engine.Process, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.procs, f.failAll
}

func (f *fakeStore) auditLog() []engine.AuditEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.audit)
}
