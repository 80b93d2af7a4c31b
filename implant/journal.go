package implant

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/unit"
)

// The event log's records, their kinds and their encoding on the link are
// package pumpwire's (pumpwire.Record); the journal below is how the implant
// keeps them on disk.

// The journal: how the implant keeps its log on disk. Each record is
//
//	length u16 | seq u64 | at i64 | kind u8 | alarm u8 | reason u8 | role u8 |
//	A i64 | B i64 | serial u64 | name string8 | CRC-32C u32 (of everything before it)
//
// appended and fsynced. A record torn by a crash fails its CRC and ends the
// journal there.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

const journalFixed = 2 + 8 + 8 + 4 + 8 + 8 + 8 + 1 + 4

func appendJournal(b []byte, r *pumpwire.Record) []byte {
	be := binary.BigEndian
	start := len(b)
	b = be.AppendUint16(b, uint16(journalFixed+len(r.Name)))
	b = be.AppendUint64(b, r.Seq)
	b = be.AppendUint64(b, uint64(r.At))
	b = append(b, byte(r.Kind), byte(r.Alarm), byte(r.Reason), byte(r.Role))
	b = be.AppendUint64(b, uint64(r.A))
	b = be.AppendUint64(b, uint64(r.B))
	b = be.AppendUint64(b, r.Serial)
	b = append(b, byte(len(r.Name)))
	b = append(b, r.Name...)
	return be.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
}

// consumeJournal reads one journal record from the start of b and returns it
// with its size; ok is false for a torn or corrupt record.
func consumeJournal(b []byte) (pumpwire.Record, int, bool) {
	be := binary.BigEndian
	if len(b) < 2 {
		return pumpwire.Record{}, 0, false
	}
	n := int(be.Uint16(b))
	if n < journalFixed || n > journalFixed+255 || n > len(b) {
		return pumpwire.Record{}, 0, false
	}
	if crc32.Checksum(b[:n-4], castagnoli) != be.Uint32(b[n-4:]) {
		return pumpwire.Record{}, 0, false
	}
	c := pumpwire.NewCursor(b[2 : n-4])
	var r pumpwire.Record
	r.Seq = c.U64()
	r.At = unit.Time(c.I64())
	r.Kind, r.Alarm, r.Reason, r.Role = pumpwire.RecordKind(c.U8()), pump.Alarm(c.U8()), pump.Reason(c.U8()), pump.Role(c.U8())
	r.A, r.B = c.I64(), c.I64()
	r.Serial = c.U64()
	r.Name = c.String8(255)
	if c.Done() != nil {
		return pumpwire.Record{}, 0, false
	}
	return r, n, true
}
