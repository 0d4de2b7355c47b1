//! The on-disk formats of [`DiskStore`](super::DiskStore): the append-only message log
//! (`log.bin`) and its index (`index.bin`), and the scanner that reads a log record by record and
//! tells a torn tail from corruption in the middle. [`super::doctor`] reads the same formats.
//!
//! # `log.bin`
//!
//! A 16-byte header, `SSBHLOG\0` then the format version (u32 LE, 1) and 4 zero bytes, then
//! records back to back. A record is
//!
//! ```text
//! len      u32 LE   payload length, PAYLOAD_FIXED ..= MAX_PAYLOAD (88 ..= 65536)
//! crc      u32 LE   CRC-32 (IEEE) of the 4 len bytes followed by the payload
//! payload  len bytes:
//!   author     32   ed25519 public key
//!   id         32   message id (sha256)
//!   sequence   u64 LE
//!   timestamp  f64 LE (IEEE bits, so it round-trips exactly)
//!   received   u64 LE   local receive time, ms
//!   value      the rest: the message JSON text exactly as signed, UTF-8
//! ```
//!
//! All integers are little-endian. The length is bounded before anything is allocated, and the
//! checksum covers the length, so a damaged length field is caught like damaged data.
//!
//! # Torn tail or corruption
//!
//! A record is *good* if its length is within bounds, it fits in the file and its checksum
//! matches. Scanning stops at the first record that is not good. A crash while appending leaves
//! a prefix of the bytes written (maybe followed by zeros or garbage where the file system
//! extended the file before the data reached the disk), so after a torn write no good record
//! follows. The scanner therefore looks for a good record at every later byte offset
//! ([`find_good_record`], one pass over the rest of the file whatever it holds): if one
//! exists, the bad record is corruption in the middle of the log (an error: records after it
//! would be lost by truncating); if none does, it is a torn tail (truncated on open). A chance
//! match of a 32-bit checksum in garbage can only turn a torn tail into an error, never the
//! other way round.
//!
//! # `index.bin`
//!
//! Derived data, never needed for correctness: a 16-byte header (`SSBHIDX\0`, version u32 LE
//! 1, entry size u32 LE 96) then one fixed-size entry per log record, in log order:
//!
//! ```text
//! offset u64, len u32, author [32], sequence u64, id [32], timestamp f64, crc u32 (of the 92 bytes before)
//! ```
//!
//! Each entry carries both keys, so the one file serves the (author, sequence) index and the
//! message-id index; the log length it covers is the end of its last entry's record.

use std::fs::File;
use std::io;

use super::{StoreError, StoredMsg};
use crate::identity::FeedId;
use crate::legacy::message::MsgId;

pub const LOG_FILE: &str = "log.bin";
pub const LOG_MAGIC: [u8; 8] = *b"SSBHLOG\0";
pub const LOG_VERSION: u32 = 1;
pub const LOG_HEADER_LEN: u64 = 16;
/// The length and checksum before each payload.
pub const RECORD_HEADER_LEN: u64 = 8;
/// Payload bytes before the value.
pub const PAYLOAD_FIXED: usize = 88;
/// The largest payload a record may have.
pub const MAX_PAYLOAD: usize = 64 * 1024;

pub const INDEX_FILE: &str = "index.bin";
pub const INDEX_MAGIC: [u8; 8] = *b"SSBHIDX\0";
pub const INDEX_VERSION: u32 = 1;
pub const INDEX_HEADER_LEN: u64 = 16;
pub const INDEX_ENTRY_LEN: usize = 96;

/// How much of a file the scanner reads at once.
const CHUNK: usize = 1 << 20;

/// The 16 bytes every log starts with.
pub fn log_header() -> [u8; 16] {
    let mut h = [0u8; 16];
    h[..8].copy_from_slice(&LOG_MAGIC);
    h[8..12].copy_from_slice(&LOG_VERSION.to_le_bytes());
    h
}

/// The 16 bytes every index starts with.
pub fn index_header() -> [u8; 16] {
    let mut h = [0u8; 16];
    h[..8].copy_from_slice(&INDEX_MAGIC);
    h[8..12].copy_from_slice(&INDEX_VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&(INDEX_ENTRY_LEN as u32).to_le_bytes());
    h
}

/// The checksum of a record: CRC-32 of its length field and payload.
///
/// The resync search ([`find_good_record`]) computes the same value another way, from prefix
/// checksums; a unit test keeps the two in step.
pub fn record_crc(len: u32, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&len.to_le_bytes());
    h.update(payload);
    h.finalize()
}

/// Appends the record of `msg` to `out`; returns its payload length.
pub fn encode_record(msg: &StoredMsg, out: &mut Vec<u8>) -> Result<u32, StoreError> {
    let len = PAYLOAD_FIXED + msg.value.len();
    if len > MAX_PAYLOAD {
        return Err(StoreError::TooLarge {
            what: "message value",
            size: msg.value.len() as u64,
            max: (MAX_PAYLOAD - PAYLOAD_FIXED) as u64,
        });
    }
    let len = len as u32;
    let start = out.len();
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&msg.author.0);
    out.extend_from_slice(&msg.id.0);
    out.extend_from_slice(&msg.sequence.to_le_bytes());
    out.extend_from_slice(&msg.timestamp.to_bits().to_le_bytes());
    out.extend_from_slice(&msg.received.to_le_bytes());
    out.extend_from_slice(msg.value.as_bytes());
    let crc = record_crc(len, &out[start + 8..]);
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    Ok(len)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn key_at(b: &[u8], at: usize) -> [u8; 32] {
    b[at..at + 32].try_into().expect("32 bytes")
}

/// The fixed fields of a payload (everything but the value).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecordHead {
    pub author: FeedId,
    pub id: MsgId,
    pub sequence: u64,
    pub timestamp: f64,
    pub received: u64,
}

/// Decodes a payload's fixed fields and checks that its value is UTF-8.
pub fn decode_head(payload: &[u8]) -> Result<RecordHead, String> {
    if payload.len() < PAYLOAD_FIXED {
        return Err(format!(
            "payload of {} bytes is shorter than {PAYLOAD_FIXED}",
            payload.len()
        ));
    }
    std::str::from_utf8(&payload[PAYLOAD_FIXED..])
        .map_err(|e| format!("value is not UTF-8 (at byte {})", e.valid_up_to()))?;
    Ok(RecordHead {
        author: FeedId(key_at(payload, 0)),
        id: MsgId(key_at(payload, 32)),
        sequence: u64_at(payload, 64),
        timestamp: f64::from_bits(u64_at(payload, 72)),
        received: u64_at(payload, 80),
    })
}

/// Decodes a whole payload.
pub fn decode_payload(payload: &[u8]) -> Result<StoredMsg, String> {
    let h = decode_head(payload)?;
    let value = std::str::from_utf8(&payload[PAYLOAD_FIXED..])
        .expect("checked by decode_head")
        .to_string();
    Ok(StoredMsg {
        id: h.id,
        author: h.author,
        sequence: h.sequence,
        timestamp: h.timestamp,
        received: h.received,
        value,
    })
}

/// One entry of `index.bin`: where a record is and what it holds.
#[derive(Debug, Clone, Copy)]
pub struct IndexEntry {
    /// Offset of the record (its length field) in the log.
    pub offset: u64,
    /// Its payload length.
    pub len: u32,
    pub author: FeedId,
    pub sequence: u64,
    pub id: MsgId,
    pub timestamp: f64,
}

impl IndexEntry {
    pub fn new(offset: u64, len: u32, h: &RecordHead) -> Self {
        IndexEntry {
            offset,
            len,
            author: h.author,
            sequence: h.sequence,
            id: h.id,
            timestamp: h.timestamp,
        }
    }

    /// The entry of `msg`'s record, at `offset` with payload length `len`.
    pub fn for_msg(offset: u64, len: u32, msg: &StoredMsg) -> Self {
        IndexEntry {
            offset,
            len,
            author: msg.author,
            sequence: msg.sequence,
            id: msg.id,
            timestamp: msg.timestamp,
        }
    }

    /// The log offset just after this entry's record.
    pub fn end(&self) -> u64 {
        self.offset + RECORD_HEADER_LEN + u64::from(self.len)
    }

    pub fn encode(&self) -> [u8; INDEX_ENTRY_LEN] {
        let mut b = [0u8; INDEX_ENTRY_LEN];
        b[0..8].copy_from_slice(&self.offset.to_le_bytes());
        b[8..12].copy_from_slice(&self.len.to_le_bytes());
        b[12..44].copy_from_slice(&self.author.0);
        b[44..52].copy_from_slice(&self.sequence.to_le_bytes());
        b[52..84].copy_from_slice(&self.id.0);
        b[84..92].copy_from_slice(&self.timestamp.to_bits().to_le_bytes());
        let crc = crc32fast::hash(&b[..92]);
        b[92..96].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes an entry, checking its checksum.
    pub fn decode(b: &[u8]) -> Result<Self, String> {
        if b.len() != INDEX_ENTRY_LEN {
            return Err(format!("index entry of {} bytes", b.len()));
        }
        if crc32fast::hash(&b[..92]) != u32_at(b, 92) {
            return Err("index entry checksum mismatch".into());
        }
        Ok(IndexEntry {
            offset: u64_at(b, 0),
            len: u32_at(b, 8),
            author: FeedId(key_at(b, 12)),
            sequence: u64_at(b, 44),
            id: MsgId(key_at(b, 52)),
            timestamp: f64::from_bits(u64_at(b, 84)),
        })
    }

    /// Same entry, bit for bit.
    pub fn same_as(&self, other: &IndexEntry) -> bool {
        self.encode() == other.encode()
    }
}

/// Reads `buf.len()` bytes at `offset`.
pub(crate) fn read_at(file: &File, offset: u64, buf: &mut [u8]) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(not(unix))]
    {
        use std::io::{Read, Seek, SeekFrom};
        let mut f = file;
        f.seek(SeekFrom::Start(offset))?;
        f.read_exact(buf)
    }
}

/// Writes all of `buf` at `offset`.
pub(crate) fn write_at(file: &File, offset: u64, buf: &[u8]) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
    }
    #[cfg(not(unix))]
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = file;
        f.seek(SeekFrom::Start(offset))?;
        f.write_all(buf)
    }
}

/// Fsyncs a directory, so that a file created or renamed in it survives a crash.
pub(crate) fn sync_dir(dir: &std::path::Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// A read window over `[0, end)` of a file, refilled a chunk at a time.
struct Window<'f> {
    file: &'f File,
    end: u64,
    start: u64,
    buf: Vec<u8>,
}

impl<'f> Window<'f> {
    fn new(file: &'f File, end: u64) -> Self {
        Window {
            file,
            end,
            start: 0,
            buf: Vec::new(),
        }
    }

    /// The bytes `[off, off + n)`; the caller has checked that they lie before `end`.
    fn get(&mut self, off: u64, n: usize) -> io::Result<&[u8]> {
        debug_assert!(off + n as u64 <= self.end);
        let have = off >= self.start && off + n as u64 <= self.start + self.buf.len() as u64;
        if !have {
            let want = (n.max(CHUNK) as u64).min(self.end - off) as usize;
            self.buf.resize(want, 0);
            read_at(self.file, off, &mut self.buf)?;
            self.start = off;
        }
        let at = (off - self.start) as usize;
        Ok(&self.buf[at..at + n])
    }
}

/// What the scanner found at its position.
#[derive(Debug)]
pub enum Step<'a> {
    /// A good record (length in bounds, checksum matches); the scanner has moved past it.
    Record { offset: u64, payload: &'a [u8] },
    /// Not a good record. `resync` is the offset of the first good record after it, if any
    /// (`None`: a torn tail). The scanner has not moved.
    Bad {
        offset: u64,
        reason: String,
        resync: Option<u64>,
    },
    /// The end of the scanned range.
    End,
}

/// Reads records from `[start, end)` of a log file.
pub struct Scanner<'f> {
    win: Window<'f>,
    pos: u64,
}

impl<'f> Scanner<'f> {
    pub fn new(file: &'f File, start: u64, end: u64) -> Self {
        Scanner {
            win: Window::new(file, end),
            pos: start.min(end),
        }
    }

    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Moves to `pos` (a resync point).
    pub fn seek(&mut self, pos: u64) {
        self.pos = pos.min(self.win.end);
    }

    /// Whether a good record starts at `off`: its payload length, or why not.
    fn check_at(&mut self, off: u64) -> io::Result<Result<u32, String>> {
        let end = self.win.end;
        let left = end - off;
        if left < RECORD_HEADER_LEN {
            return Ok(Err(format!("partial record header ({left} bytes)")));
        }
        let h = self.win.get(off, RECORD_HEADER_LEN as usize)?;
        let (len, crc) = (u32_at(h, 0), u32_at(h, 4));
        if (len as usize) < PAYLOAD_FIXED || len as usize > MAX_PAYLOAD {
            return Ok(Err(format!(
                "record length {len} is outside {PAYLOAD_FIXED}..={MAX_PAYLOAD}"
            )));
        }
        if u64::from(len) > left - RECORD_HEADER_LEN {
            return Ok(Err(format!(
                "record of {len} bytes runs past the end of the log ({} bytes left)",
                left - RECORD_HEADER_LEN
            )));
        }
        let payload = self.win.get(off + RECORD_HEADER_LEN, len as usize)?;
        if record_crc(len, payload) != crc {
            return Ok(Err("record checksum mismatch".into()));
        }
        Ok(Ok(len))
    }

    /// The next step of the scan.
    pub fn next_step(&mut self) -> io::Result<Step<'_>> {
        let off = self.pos;
        if off >= self.win.end {
            return Ok(Step::End);
        }
        match self.check_at(off)? {
            Ok(len) => {
                self.pos = off + RECORD_HEADER_LEN + u64::from(len);
                let payload = self.win.get(off + RECORD_HEADER_LEN, len as usize)?;
                Ok(Step::Record { offset: off, payload })
            }
            Err(reason) => {
                let resync = find_good_record(self.win.file, off + 1, self.win.end)?;
                Ok(Step::Bad {
                    offset: off,
                    reason,
                    resync,
                })
            }
        }
    }
}

/// Whether the bad record at `offset` (one after which no good record follows) is a *complete*
/// record that was damaged rather than a torn write: its length is in bounds, all its bytes are
/// in the file, and its value is whole JSON text (no zero byte, ending in `}`). A torn write
/// leaves the record short, or with zeros where the file system extended the file before the
/// data reached the disk; JSON text never holds a zero byte, and every stored value is an
/// object. Returns a description of the damage, or `None` for what may be a torn write.
pub fn damaged_complete_record(file: &File, offset: u64, end: u64) -> io::Result<Option<String>> {
    if end < offset + RECORD_HEADER_LEN {
        return Ok(None);
    }
    let mut h = [0u8; RECORD_HEADER_LEN as usize];
    read_at(file, offset, &mut h)?;
    let len = u32_at(&h, 0);
    if !(PAYLOAD_FIXED..=MAX_PAYLOAD).contains(&(len as usize))
        || u64::from(len) > end - offset - RECORD_HEADER_LEN
    {
        return Ok(None);
    }
    let mut payload = vec![0u8; len as usize];
    read_at(file, offset + RECORD_HEADER_LEN, &mut payload)?;
    let value = &payload[PAYLOAD_FIXED..];
    if value.last() != Some(&b'}') || value.contains(&0) {
        return Ok(None);
    }
    let after = end - offset - RECORD_HEADER_LEN - u64::from(len);
    Ok(Some(format!(
        "a complete record of {len} bytes fails its checksum ({after} bytes follow it); its value \
         is whole JSON text, so this is damage, not a torn write"
    )))
}

/// The reflected CRC-32 (IEEE) polynomial.
const CRC_POLY: u32 = 0xEDB8_8320;

/// `a * b` modulo the CRC polynomial, both in the reflected bit order (x^0 is bit 31).
fn mul_mod_poly(a: u32, mut b: u32) -> u32 {
    let mut m = 1u32 << 31;
    let mut p = 0u32;
    while m != 0 {
        if a & m != 0 {
            p ^= b;
        }
        b = if b & 1 == 1 { (b >> 1) ^ CRC_POLY } else { b >> 1 };
        m >>= 1;
    }
    p
}

/// `x^(8n)` modulo the CRC polynomial for every payload length `n` in `0..=MAX_PAYLOAD`:
/// multiplying a raw CRC register by it moves the register past `n` zero bytes.
fn shift_table() -> &'static [u32] {
    static T: std::sync::OnceLock<Vec<u32>> = std::sync::OnceLock::new();
    T.get_or_init(|| {
        let x8 = 1u32 << (31 - 8);
        let mut t = Vec::with_capacity(MAX_PAYLOAD + 1);
        let mut p = 1u32 << 31;
        for _ in 0..=MAX_PAYLOAD {
            t.push(p);
            p = mul_mod_poly(p, x8);
        }
        t
    })
}

/// An event of the resync search, at a position of the stream.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Resync {
    /// Where it happens: the start of a candidate's payload, or its end (the heap's key).
    pos: u64,
    /// The candidate record's offset.
    offset: u64,
    /// The checksum its header claims.
    crc: u32,
    what: Candidate,
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Candidate {
    /// At the payload's start: the payload length.
    Start { len: u32 },
    /// At the payload's end: the CRC register of the length field, moved past the payload and
    /// combined with the register at the payload's start.
    End { partial: u32 },
}

/// The offset of the first good record (length in bounds, fits before `end`, checksum matches)
/// that starts in `[from, end)`, or `None`.
///
/// Linear in the bytes read: the file is read once, front to back, and the CRC register of the
/// stream from `from` is carried forward (with `crc32fast`, only as far as the next position
/// that matters). CRC is linear, so the CRC of any range `[a, b)` follows from the registers
/// at `a` and `b`: the register at `a` moved past `b - a` bytes (a multiplication by
/// `x^(8(b - a))`) XOR the register at `b`. A candidate record (a plausible length at some
/// offset) therefore costs one multiplication at its payload's start and one comparison at its
/// end, instead of a checksum over up to 64 KiB of payload at every offset; a damaged region
/// where every fourth offset holds a plausible length costs the same per byte as one where
/// none does. The search stops as soon as no earlier candidate can still turn out good.
pub fn find_good_record(file: &File, from: u64, end: u64) -> io::Result<Option<u64>> {
    use std::cmp::Reverse;
    let shifts = shift_table();
    let mut heap: std::collections::BinaryHeap<Reverse<Resync>> = Default::default();
    let mut best: Option<u64> = None;
    // The standard CRC-32 of the stream `[from, at)`; the register is its complement.
    let mut at = from;
    let mut crc_so_far = 0u32;
    let mut buf = vec![0u8; CHUNK + RECORD_HEADER_LEN as usize];
    let mut start = from;
    'chunks: while start < end {
        // The chunk, and the 8 bytes after it so that every header starting in it is whole.
        let n = ((end - start) as usize).min(buf.len());
        read_at(file, start, &mut buf[..n])?;
        let stop = start + (n.min(CHUNK) as u64);
        let mut next_event = heap.peek().map_or(u64::MAX, |Reverse(e)| e.pos);
        for q in start..stop {
            while next_event <= q {
                let Reverse(e) = heap.pop().expect("peeked");
                // Carry the CRC forward to the event (it lies in this chunk).
                let lo = (at - start) as usize;
                let hi = (e.pos - start) as usize;
                let mut h = crc32fast::Hasher::new_with_initial(crc_so_far);
                h.update(&buf[lo..hi]);
                crc_so_far = h.finalize();
                at = e.pos;
                let register = !crc_so_far;
                match e.what {
                    Candidate::Start { len } => {
                        let head = !crc32fast::hash(&len.to_le_bytes());
                        heap.push(Reverse(Resync {
                            pos: e.pos + u64::from(len),
                            offset: e.offset,
                            crc: e.crc,
                            what: Candidate::End {
                                partial: mul_mod_poly(head ^ register, shifts[len as usize]),
                            },
                        }));
                    }
                    Candidate::End { partial } => {
                        if partial ^ register ^ 0xFFFF_FFFF == e.crc && best.is_none_or(|b| e.offset < b) {
                            best = Some(e.offset);
                        }
                    }
                }
                if let Some(b) = best {
                    // Every candidate before `b` has been decided.
                    if heap.peek().is_none_or(|Reverse(p)| p.offset > b) {
                        break 'chunks;
                    }
                }
                next_event = heap.peek().map_or(u64::MAX, |Reverse(e)| e.pos);
            }
            let i = (q - start) as usize;
            if end - q < RECORD_HEADER_LEN + PAYLOAD_FIXED as u64 {
                continue;
            }
            let len = u32_at(&buf, i);
            if (PAYLOAD_FIXED..=MAX_PAYLOAD).contains(&(len as usize))
                && u64::from(len) <= end - q - RECORD_HEADER_LEN
            {
                let pos = q + RECORD_HEADER_LEN;
                heap.push(Reverse(Resync {
                    pos,
                    offset: q,
                    crc: u32_at(&buf, i + 4),
                    what: Candidate::Start { len },
                }));
                next_event = next_event.min(pos);
            }
        }
        // Carry the CRC to the end of the chunk: the next one starts there.
        let mut h = crc32fast::Hasher::new_with_initial(crc_so_far);
        h.update(&buf[(at - start) as usize..(stop - start) as usize]);
        crc_so_far = h.finalize();
        at = stop;
        start = stop;
    }
    // Candidates whose payload ends exactly at `end` (the CRC has reached it).
    if at == end {
        while let Some(Reverse(e)) = heap.pop() {
            if let (Candidate::End { partial }, true) = (e.what, e.pos == end) {
                if partial ^ !crc_so_far ^ 0xFFFF_FFFF == e.crc && best.is_none_or(|b| e.offset < b) {
                    best = Some(e.offset);
                }
            }
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_form_of_the_checksum_agrees_with_crc32() {
        // A stream: junk, then a record, then junk; the search must find the record's offset.
        let mut rng: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng >> 24) as u8
        };
        for (junk, len) in [(0usize, 88usize), (1, 89), (7, 200), (300, 4096), (5, 65536)] {
            let mut bytes: Vec<u8> = (0..junk).map(|_| next()).collect();
            let payload: Vec<u8> = (0..len).map(|_| next()).collect();
            let at = bytes.len() as u64;
            bytes.extend_from_slice(&(len as u32).to_le_bytes());
            bytes.extend_from_slice(&record_crc(len as u32, &payload).to_le_bytes());
            bytes.extend_from_slice(&payload);
            for tail in [0usize, 3, 100] {
                let mut b = bytes.clone();
                b.extend((0..tail).map(|_| 0xFF));
                let mut f = tempfile_for_test(&b);
                let found = find_good_record(&f.0, 0, b.len() as u64).unwrap();
                assert_eq!(found, Some(at), "junk {junk} len {len} tail {tail}");
                // One bit off anywhere in the record: no good record.
                let flip = at as usize + 8 + len / 2;
                b[flip] ^= 4;
                f = tempfile_for_test(&b);
                assert_eq!(find_good_record(&f.0, 0, b.len() as u64).unwrap(), None);
            }
        }
    }

    struct TestFile(File, std::path::PathBuf);

    impl Drop for TestFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.1);
        }
    }

    fn tempfile_for_test(bytes: &[u8]) -> TestFile {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "ssb-log-resync-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, bytes).unwrap();
        TestFile(File::open(&path).unwrap(), path)
    }
}
