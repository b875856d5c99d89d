package startstop

import (
	"errors"
	"sync"
	"testing"
)

func TestOnce(t *testing.T) {
	t.Run("start once, stop once", func(t *testing.T) {
		var o Once
		starts := 0
		if !o.Start(func() { starts++ }) || o.Start(func() { starts++ }) || starts != 1 {
			t.Fatalf("Start ran %d times, want 1", starts)
		}
		boom := errors.New("boom")
		stops := 0
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = o.Stop(func(started bool) error {
					if !started {
						t.Error("stop was told the component never started")
					}
					stops++
					return boom
				})
			}()
		}
		wg.Wait()
		if stops != 1 {
			t.Fatalf("stop ran %d times, want 1", stops)
		}
		for _, err := range errs {
			if err != boom {
				t.Fatalf("Stop returned %v, want the first call's error", err)
			}
		}
	})
	t.Run("stop before start", func(t *testing.T) {
		var o Once
		var told bool
		o.Stop(func(started bool) error { told = started; return nil })
		if told {
			t.Fatal("stop was told the component started")
		}
		if o.Start(func() { t.Fatal("started after Stop") }) {
			t.Fatal("Start reported running after Stop")
		}
	})
}
