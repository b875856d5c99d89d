package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// jobFormat1 starts a binary job record. Leasing and finishing read and
// rewrite a job inside the committer's transaction, so its record is a
// fixed header plus two short strings; only LastError (rare, and carrying
// free text) stays JSON. Records written as JSON by earlier versions start
// with '{' and still decode.
//
//	0x01 state(1) attempt maxTries crashes (uvarints)
//	runAt leaseUntil createdAt updatedAt (8 bytes each, big-endian nanos)
//	len+eventID len+listener (uvarint lengths) [LastError JSON]
const jobFormat1 = 0x01

var stateCodes = map[engine.JobState]byte{
	engine.JobPending: 1, engine.JobRunning: 2, engine.JobDone: 3, engine.JobFailed: 4,
}

var codeStates = [...]engine.JobState{1: engine.JobPending, 2: engine.JobRunning, 3: engine.JobDone, 4: engine.JobFailed}

// encodeJob returns j's record; j.ID is the key and is not repeated.
func encodeJob(j *engine.Job) ([]byte, error) {
	code, ok := stateCodes[j.State]
	if !ok {
		return nil, fmt.Errorf("encode job %s: unknown state %q", j.ID, j.State)
	}
	if j.Attempt < 0 || j.MaxTries < 0 || j.Crashes < 0 {
		return nil, fmt.Errorf("encode job %s: negative count", j.ID)
	}
	b := make([]byte, 0, 2+3*binary.MaxVarintLen32+32+2+len(j.EventID)+len(j.Listener))
	b = append(b, jobFormat1, code)
	b = binary.AppendUvarint(b, uint64(j.Attempt))
	b = binary.AppendUvarint(b, uint64(j.MaxTries))
	b = binary.AppendUvarint(b, uint64(j.Crashes))
	for _, t := range [...]time.Time{j.RunAt, j.LeaseUntil, j.CreatedAt, j.UpdatedAt} {
		b = binary.BigEndian.AppendUint64(b, nanos(t))
	}
	b = binary.AppendUvarint(b, uint64(len(j.EventID)))
	b = append(b, j.EventID...)
	b = binary.AppendUvarint(b, uint64(len(j.Listener)))
	b = append(b, j.Listener...)
	if j.LastError != nil {
		e, err := json.Marshal(j.LastError)
		if err != nil {
			return nil, fmt.Errorf("encode job %s: %w", j.ID, err)
		}
		b = append(b, e...)
	}
	return b, nil
}

var errCorruptJob = errors.New("corrupt job record")

// decodeJob decodes the record stored under id; the result shares no
// memory with data.
func decodeJob(id string, data []byte) (*engine.Job, error) {
	if len(data) > 0 && data[0] == '{' {
		var j engine.Job
		if err := json.Unmarshal(data, &j); err != nil {
			return nil, fmt.Errorf("decode job: %w", err)
		}
		return &j, nil
	}
	if len(data) < 2 || data[0] != jobFormat1 || int(data[1]) >= len(codeStates) || data[1] == 0 {
		return nil, fmt.Errorf("decode job: %w", errCorruptJob)
	}
	j := &engine.Job{ID: id, State: codeStates[data[1]]}
	rest := data[2:]
	var counts [3]uint64
	for i := range counts {
		v, n := binary.Uvarint(rest)
		if n <= 0 || v > 1<<31 {
			return nil, fmt.Errorf("decode job: %w", errCorruptJob)
		}
		counts[i], rest = v, rest[n:]
	}
	j.Attempt, j.MaxTries, j.Crashes = int(counts[0]), int(counts[1]), int(counts[2])
	if len(rest) < 32 {
		return nil, fmt.Errorf("decode job: %w", errCorruptJob)
	}
	for _, t := range [...]*time.Time{&j.RunAt, &j.LeaseUntil, &j.CreatedAt, &j.UpdatedAt} {
		if n := binary.BigEndian.Uint64(rest); n != 0 {
			*t = time.Unix(0, int64(n)).UTC()
		}
		rest = rest[8:]
	}
	var strs [2]string
	for i := range strs {
		l, n := binary.Uvarint(rest)
		if n <= 0 || uint64(len(rest)-n) < l {
			return nil, fmt.Errorf("decode job: %w", errCorruptJob)
		}
		strs[i], rest = string(rest[n:n+int(l)]), rest[n+int(l):]
	}
	j.EventID, j.Listener = strs[0], strs[1]
	if len(rest) > 0 {
		j.LastError = new(engine.JobError)
		if err := json.Unmarshal(rest, j.LastError); err != nil {
			return nil, fmt.Errorf("decode job: %w", err)
		}
	}
	return j, nil
}
