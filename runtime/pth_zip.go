package runtime

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// A minimal reader of the zip archives torch.save writes (since torch 1.6): the central
// directory, to find each entry, and local headers, to find where an entry's bytes start. Only
// stored (uncompressed) entries can be read, which is all torch writes: a tensor is then a byte
// range of the file, read in place like a safetensors tensor.
//
// It is not archive/zip because archive/zip reads the directory records until their signature
// stops, whatever count the end record gives, and allocates a File for each: a hostile archive
// costs about 7 bytes of memory per byte of file. Here the end record's count and size bound
// everything before any is read, and only the entries' names and places are kept.

const (
	// maxZipEntries caps an archive's entries: a checkpoint has one per storage, plus 4.
	maxZipEntries = 1 << 20
	// maxZipDirBytes caps the central directory (the entries' names: ~80 bytes each).
	maxZipDirBytes = 64 << 20
	// eocdLen and cdLen, lhLen: the fixed parts of the end record, directory and local headers.
	eocdLen, cdLen, lhLen = 22, 46, 30
)

type zipEntry struct {
	name         string
	method       uint16
	flags        uint16
	crc          uint32
	csize, usize uint64
	offset       uint64 // of the local header
}

type zipArchive struct {
	r       io.ReaderAt
	size    int64
	dirEnd  int64 // where the central directory starts: every entry's data lies before it
	entries map[string]*zipEntry
}

var errNotZip = errors.New("zip: no end of central directory record (truncated, or not a zip)")

// openZip reads the central directory of the zip behind r.
func openZip(r io.ReaderAt, size int64) (*zipArchive, error) {
	// The end record is the last 22 bytes plus a comment of up to 65,535 bytes.
	tailLen := min(size, eocdLen+0xffff)
	tail := make([]byte, tailLen)
	if err := readFullAt(r, tail, size-tailLen); err != nil {
		return nil, fmt.Errorf("zip: %w", err)
	}
	at := -1
	for i := len(tail) - eocdLen; i >= 0; i-- {
		if string(tail[i:i+4]) == "PK\x05\x06" && int(binary.LittleEndian.Uint16(tail[i+20:])) == len(tail)-i-eocdLen {
			at = i
			break
		}
	}
	if at < 0 {
		return nil, errNotZip
	}
	eocd := tail[at:]
	eocdPos := size - tailLen + int64(at)
	le := binary.LittleEndian
	disk, dirDisk := le.Uint16(eocd[4:]), le.Uint16(eocd[6:])
	count, dirSize, dirOff := uint64(le.Uint16(eocd[10:])), uint64(le.Uint32(eocd[12:])), uint64(le.Uint32(eocd[16:]))
	dirLimit := uint64(eocdPos)
	if count == 0xffff || dirSize == 0xffffffff || dirOff == 0xffffffff {
		// Saturated fields: the real ones are in the zip64 end record, found by its locator.
		var loc [20]byte
		if eocdPos < 20+56 || readFullAt(r, loc[:], eocdPos-20) != nil || string(loc[:4]) != "PK\x06\x07" {
			return nil, errors.New("zip: zip64 end record locator missing")
		}
		recOff := le.Uint64(loc[8:])
		var rec [56]byte
		if recOff > uint64(eocdPos-20-56) || readFullAt(r, rec[:], int64(recOff)) != nil || string(rec[:4]) != "PK\x06\x06" {
			return nil, fmt.Errorf("zip: zip64 end record at %d missing", recOff)
		}
		disk, dirDisk = uint16(le.Uint32(rec[16:])), uint16(le.Uint32(rec[20:]))
		count, dirSize, dirOff = le.Uint64(rec[32:]), le.Uint64(rec[40:]), le.Uint64(rec[48:])
		dirLimit = recOff
	}
	switch {
	case disk != 0 || dirDisk != 0:
		return nil, errors.New("zip: multi-disk archives are not supported")
	case count > maxZipEntries:
		return nil, fmt.Errorf("zip: %d entries, more than the %d allowed", count, maxZipEntries)
	case dirSize > maxZipDirBytes:
		return nil, fmt.Errorf("zip: central directory of %d bytes, more than the %d allowed", dirSize, maxZipDirBytes)
	case dirOff > dirLimit || dirSize > dirLimit-dirOff:
		return nil, fmt.Errorf("zip: central directory [%d, +%d) runs past its end record at %d (truncated?)", dirOff, dirSize, dirLimit)
	case count*cdLen > dirSize:
		return nil, fmt.Errorf("zip: %d entries cannot fit a %d-byte central directory", count, dirSize)
	}
	dir := make([]byte, dirSize)
	if err := readFullAt(r, dir, int64(dirOff)); err != nil {
		return nil, fmt.Errorf("zip: reading the central directory: %w", err)
	}
	z := &zipArchive{r: r, size: size, dirEnd: int64(dirOff), entries: make(map[string]*zipEntry, count)}
	for i := uint64(0); i < count; i++ {
		e, n, err := parseDirEntry(dir)
		if err != nil {
			return nil, fmt.Errorf("zip: central directory entry %d: %w", i, err)
		}
		if z.entries[e.name] != nil {
			return nil, fmt.Errorf("zip: entry %q appears twice", e.name)
		}
		z.entries[e.name] = e
		dir = dir[n:]
	}
	if len(dir) != 0 {
		return nil, fmt.Errorf("zip: %d bytes after the %d entries of the central directory", len(dir), count)
	}
	return z, nil
}

// parseDirEntry reads one central directory record and returns it and its length.
func parseDirEntry(b []byte) (*zipEntry, int, error) {
	le := binary.LittleEndian
	if len(b) < cdLen || string(b[:4]) != "PK\x01\x02" {
		return nil, 0, errors.New("bad signature or truncated")
	}
	nameLen, extraLen, commentLen := int(le.Uint16(b[28:])), int(le.Uint16(b[30:])), int(le.Uint16(b[32:]))
	n := cdLen + nameLen + extraLen + commentLen
	if n > len(b) {
		return nil, 0, errors.New("runs past the central directory")
	}
	e := &zipEntry{
		name:   string(b[cdLen : cdLen+nameLen]),
		flags:  le.Uint16(b[8:]),
		method: le.Uint16(b[10:]),
		crc:    le.Uint32(b[16:]),
		csize:  uint64(le.Uint32(b[20:])),
		usize:  uint64(le.Uint32(b[24:])),
		offset: uint64(le.Uint32(b[42:])),
	}
	// The zip64 extra field holds, in this order, each of these that is saturated above.
	extra := b[cdLen+nameLen : cdLen+nameLen+extraLen]
	for len(extra) >= 4 {
		id, size := le.Uint16(extra), int(le.Uint16(extra[2:]))
		if size > len(extra)-4 {
			return nil, 0, errors.New("extra field runs past its record")
		}
		field := extra[4 : 4+size]
		if id == 1 {
			for _, v := range []*uint64{&e.usize, &e.csize, &e.offset} {
				if *v != 0xffffffff {
					continue
				}
				if len(field) < 8 {
					return nil, 0, errors.New("zip64 extra field too short")
				}
				*v, field = le.Uint64(field), field[8:]
			}
		}
		extra = extra[4+size:]
	}
	return e, n, nil
}

// dataAt checks that e is a stored entry lying wholly before the central directory and returns
// the file offset of its first byte.
func (z *zipArchive) dataAt(e *zipEntry) (int64, error) {
	switch {
	case e.flags&1 != 0:
		return 0, fmt.Errorf("zip: %s is encrypted", e.name)
	case e.method != 0:
		return 0, fmt.Errorf("zip: %s is compressed (method %d): torch.save stores entries uncompressed; re-save the checkpoint with torch.save", e.name, e.method)
	case e.csize != e.usize:
		return 0, fmt.Errorf("zip: stored entry %s has %d bytes in the archive but %d uncompressed", e.name, e.csize, e.usize)
	case z.dirEnd < lhLen || e.offset > uint64(z.dirEnd)-lhLen:
		return 0, fmt.Errorf("zip: %s: local header at %d is past the central directory at %d", e.name, e.offset, z.dirEnd)
	}
	// The local header and its name, which must be the entry's again (a directory pointing
	// elsewhere is corrupt), in one read; a header past the directory was refused above.
	h := make([]byte, min(lhLen+uint64(len(e.name)), uint64(z.dirEnd)-e.offset))
	if err := readFullAt(z.r, h, int64(e.offset)); err != nil {
		return 0, fmt.Errorf("zip: %s: local header: %w", e.name, err)
	}
	if string(h[:4]) != "PK\x03\x04" {
		return 0, fmt.Errorf("zip: %s: no local header at %d", e.name, e.offset)
	}
	nameLen, extraLen := uint64(binary.LittleEndian.Uint16(h[26:])), uint64(binary.LittleEndian.Uint16(h[28:]))
	if nameLen != uint64(len(e.name)) || len(h) != lhLen+len(e.name) || string(h[lhLen:]) != e.name {
		return 0, fmt.Errorf("zip: %s: local header at %d names another entry", e.name, e.offset)
	}
	start := e.offset + lhLen + nameLen + extraLen
	if start > uint64(z.dirEnd) || e.usize > uint64(z.dirEnd)-start {
		return 0, fmt.Errorf("zip: %s: %d bytes at %d run past the central directory at %d (truncated?)", e.name, e.usize, start, z.dirEnd)
	}
	return int64(start), nil
}

// read returns a stored entry's bytes, at most limit of them, checked against its CRC.
func (z *zipArchive) read(e *zipEntry, limit int64) ([]byte, error) {
	if e.usize > uint64(limit) {
		return nil, fmt.Errorf("zip: %s is %d bytes, more than the %d allowed", e.name, e.usize, limit)
	}
	at, err := z.dataAt(e)
	if err != nil {
		return nil, err
	}
	b := make([]byte, e.usize)
	if err := readFullAt(z.r, b, at); err != nil {
		return nil, fmt.Errorf("zip: reading %s: %w", e.name, err)
	}
	if crc32.ChecksumIEEE(b) != e.crc {
		return nil, fmt.Errorf("zip: %s fails its CRC check (corrupt file)", e.name)
	}
	return b, nil
}
