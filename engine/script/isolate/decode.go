package isolate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// errCorrupt: bytes that no encoder of this package wrote.
var errCorrupt = errors.New("corrupt value")

// decoder reads values an encoder wrote. Every count is checked against
// the bytes left before anything is allocated for it, and the decoded
// cost against limit, so hostile bytes cannot make it allocate more than
// limit (plus the frame itself).
type decoder struct {
	buf   []byte
	pos   int
	cost  int64
	limit int64 // 0: none
	// fn builds the Go value standing for function handle h.
	fn func(h uint64) (any, error)
}

func (d *decoder) charge(n int64) error {
	d.cost += n
	if d.limit > 0 && d.cost > d.limit {
		return errTooLarge
	}
	return nil
}

func (d *decoder) byte() (byte, error) {
	if d.pos >= len(d.buf) {
		return 0, errCorrupt
	}
	b := d.buf[d.pos]
	d.pos++
	return b, nil
}

func (d *decoder) uvarint() (uint64, error) {
	n, k := binary.Uvarint(d.buf[d.pos:])
	if k <= 0 {
		return 0, errCorrupt
	}
	d.pos += k
	return n, nil
}

func (d *decoder) varint() (int64, error) {
	n, k := binary.Varint(d.buf[d.pos:])
	if k <= 0 {
		return 0, errCorrupt
	}
	d.pos += k
	return n, nil
}

// count reads a length and checks that at least per bytes for each
// counted item remain.
func (d *decoder) count(per int) (int, error) {
	n, err := d.uvarint()
	if err != nil {
		return 0, err
	}
	if n > uint64(len(d.buf)-d.pos)/uint64(per) {
		return 0, errCorrupt
	}
	return int(n), nil
}

func (d *decoder) raw() (string, error) {
	n, err := d.count(1)
	if err != nil {
		return "", err
	}
	if err := d.charge(int64(n)); err != nil {
		return "", err
	}
	s := string(d.buf[d.pos : d.pos+n])
	d.pos += n
	return s, nil
}

// top decodes one whole value and checks nothing follows it.
func (d *decoder) top() (any, error) {
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if d.pos != len(d.buf) {
		return nil, errCorrupt
	}
	return v, nil
}

// value decodes one value. Encoders write undefined only where it
// differs from null (a call's argument or result), since goja exports
// an undefined inside an array or object as nil.
func (d *decoder) value(depth int) (any, error) {
	if depth > maxDepth+1 {
		return nil, fmt.Errorf("nested deeper than %d", maxDepth)
	}
	if err := d.charge(costScalar); err != nil {
		return nil, err
	}
	tag, err := d.byte()
	if err != nil {
		return nil, err
	}
	switch tag {
	case tagUndefined:
		return undefined, nil
	case tagNull:
		return nil, nil
	case tagTrue:
		return true, nil
	case tagFalse:
		return false, nil
	case tagInt:
		return d.varint()
	case tagFloat:
		if len(d.buf)-d.pos < 8 {
			return nil, errCorrupt
		}
		f := math.Float64frombits(binary.BigEndian.Uint64(d.buf[d.pos:]))
		d.pos += 8
		return f, nil
	case tagString, tagBytes:
		if err := d.charge(costString); err != nil {
			return nil, err
		}
		s, err := d.raw()
		if tag == tagBytes && err == nil {
			return []byte(s), nil
		}
		return s, err
	case tagDate:
		ns, err := d.varint()
		return time.Unix(0, ns), err
	case tagArray:
		return d.array(depth)
	case tagObject:
		return d.object(depth)
	case tagFunc:
		h, err := d.uvarint()
		if err != nil || d.fn == nil {
			return nil, errors.Join(err, errCorrupt)
		}
		return d.fn(h)
	}
	return nil, errCorrupt
}

func (d *decoder) array(depth int) (any, error) {
	n, err := d.count(1)
	if err != nil {
		return nil, err
	}
	if err := d.charge(costArray + costElem*int64(n)); err != nil {
		return nil, err
	}
	out := make([]any, n)
	for i := range out {
		if out[i], err = d.value(depth + 1); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (d *decoder) object(depth int) (any, error) {
	n, err := d.count(2)
	if err != nil {
		return nil, err
	}
	if err := d.charge(costObject + costEntry*int64(n)); err != nil {
		return nil, err
	}
	out := make(map[string]any, n)
	for range n {
		k, err := d.raw()
		if err != nil {
			return nil, err
		}
		if out[k], err = d.value(depth + 1); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// encode encodes v with no limit and no callable functions.
func encode(v any) ([]byte, error) {
	e := encoder{}
	err := e.value(v, 0)
	return e.buf, err
}

// decode decodes one whole value with no limit; function handles are
// refused.
func decode(b []byte) (any, error) {
	d := decoder{buf: b}
	return d.top()
}
