// Package history turns what this process observes (job attempts
// finished, webhook requests answered) into per-minute engine.Samples and
// hands them to the queue's stored history (engine.Queue.AddSamples)
// every few seconds, so the console's charts survive restarts and add up
// across every process sharing the queue.
//
// A Recorder holds only what it has not flushed yet. Observing is a map
// update under a mutex; nothing waits on storage. A flush that fails keeps
// its samples for the next one (bounded: see Options.MaxPending).
package history
