package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// jobFormat2 starts a binary job record. Leasing and finishing read and
// rewrite a job inside the committer's transaction, so its record is a
// fixed header, three short strings and the attempts in binary; only error
// texts (rare, and carrying free text) are JSON. Records of format 1 (no
// order key, no attempts) and JSON records of earlier versions (starting
// with '{') still decode.
//
//	0x02 state(1) flags(1: bit 0 Suspect) attempt maxTries crashes (uvarints)
//	runAt leaseUntil createdAt updatedAt (8 bytes each, big-endian nanos)
//	len+eventID len+listener len+orderKey (uvarint lengths)
//	attempts: count, then each: n startedAt(8) duration outcome len+errorJSON
//	[LastError JSON]
const (
	jobFormat1 = 0x01
	jobFormat2 = 0x02
)

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
	b := make([]byte, 0, 2+3*binary.MaxVarintLen32+32+3+len(j.EventID)+len(j.Listener)+len(j.OrderKey)+24*len(j.Attempts))
	var flags byte
	if j.Suspect {
		flags |= 1
	}
	b = append(b, jobFormat2, code, flags)
	b = binary.AppendUvarint(b, uint64(j.Attempt))
	b = binary.AppendUvarint(b, uint64(j.MaxTries))
	b = binary.AppendUvarint(b, uint64(j.Crashes))
	for _, t := range [...]time.Time{j.RunAt, j.LeaseUntil, j.CreatedAt, j.UpdatedAt} {
		b = binary.BigEndian.AppendUint64(b, nanos(t))
	}
	b = binary.AppendUvarint(b, uint64(len(j.EventID)))
	b = append(b, j.EventID...)
	for _, str := range [...]string{j.Listener, j.OrderKey} {
		b = binary.AppendUvarint(b, uint64(len(str)))
		b = append(b, str...)
	}
	b, err := appendAttempts(b, j.Attempts)
	if err != nil {
		return nil, fmt.Errorf("encode job %s: %w", j.ID, err)
	}
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
	if len(data) < 2 || (data[0] != jobFormat1 && data[0] != jobFormat2) || int(data[1]) >= len(codeStates) || data[1] == 0 {
		return nil, fmt.Errorf("decode job: %w", errCorruptJob)
	}
	format := data[0]
	j := &engine.Job{ID: id, State: codeStates[data[1]]}
	rest := data[2:]
	if format == jobFormat2 {
		if len(rest) < 1 {
			return nil, fmt.Errorf("decode job: %w", errCorruptJob)
		}
		j.Suspect, rest = rest[0]&1 != 0, rest[1:]
	}
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
	strs := make([]string, 2, 3)
	if format == jobFormat2 {
		strs = strs[:3]
	}
	for i := range strs {
		l, n := binary.Uvarint(rest)
		if n <= 0 || uint64(len(rest)-n) < l {
			return nil, fmt.Errorf("decode job: %w", errCorruptJob)
		}
		strs[i], rest = string(rest[n:n+int(l)]), rest[n+int(l):]
	}
	j.EventID, j.Listener = strs[0], strs[1]
	if format == jobFormat2 {
		j.OrderKey = strs[2]
		var err error
		if j.Attempts, rest, err = readAttempts(rest); err != nil {
			return nil, fmt.Errorf("decode job: %w", err)
		}
	}
	if len(rest) > 0 {
		j.LastError = new(engine.JobError)
		if err := json.Unmarshal(rest, j.LastError); err != nil {
			return nil, fmt.Errorf("decode job: %w", err)
		}
	}
	return j, nil
}

// appendAttempts encodes attempts (see jobFormat2).
func appendAttempts(b []byte, attempts []engine.Attempt) ([]byte, error) {
	b = binary.AppendUvarint(b, uint64(len(attempts)))
	for _, a := range attempts {
		if a.N < 0 || a.Duration < 0 || a.Outcome < 0 || a.Outcome > 255 {
			return nil, fmt.Errorf("attempt %d: out of range", a.N)
		}
		b = binary.AppendUvarint(b, uint64(a.N))
		b = binary.BigEndian.AppendUint64(b, nanos(a.StartedAt))
		b = binary.AppendUvarint(b, uint64(a.Duration))
		b = append(b, byte(a.Outcome))
		var e []byte
		if a.Error != nil {
			var err error
			if e, err = json.Marshal(a.Error); err != nil {
				return nil, err
			}
		}
		b = binary.AppendUvarint(b, uint64(len(e)))
		b = append(b, e...)
	}
	return b, nil
}

// readAttempts decodes what appendAttempts wrote and returns the rest.
func readAttempts(b []byte) ([]engine.Attempt, []byte, error) {
	count, n := binary.Uvarint(b)
	if n <= 0 || count > engine.MaxAttemptsKept*4 {
		return nil, nil, errCorruptJob
	}
	b = b[n:]
	if count == 0 {
		return nil, b, nil
	}
	out := make([]engine.Attempt, count)
	for i := range out {
		a := &out[i]
		num, n := binary.Uvarint(b)
		if n <= 0 || num > 1<<31 || len(b)-n < 8 {
			return nil, nil, errCorruptJob
		}
		b = b[n:]
		a.N = int(num)
		if at := binary.BigEndian.Uint64(b); at != 0 {
			a.StartedAt = time.Unix(0, int64(at)).UTC()
		}
		b = b[8:]
		d, n := binary.Uvarint(b)
		if n <= 0 || d > 1<<62 || len(b)-n < 1 {
			return nil, nil, errCorruptJob
		}
		a.Duration, a.Outcome, b = time.Duration(d), engine.Outcome(b[n]), b[n+1:]
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return nil, nil, errCorruptJob
		}
		if l > 0 {
			a.Error = new(engine.JobError)
			if err := json.Unmarshal(b[n:n+int(l)], a.Error); err != nil {
				return nil, nil, err
			}
		}
		b = b[n+int(l):]
	}
	return out, b, nil
}
