//! Helpers shared by the fuzz targets.

/// Applies fuzzer-chosen edits to a known-good input, so that a target can explore inputs near
/// a valid one. The edits are 3-byte records: a little-endian u16 whose top two bits choose the
/// operation (1 insert, 2 delete, otherwise overwrite) and whose low 14 bits give the position
/// (taken modulo the current length), then the byte to write or insert.
pub fn apply_edits(text: &[u8], edits: &[u8]) -> Vec<u8> {
    let mut out = text.to_vec();
    for e in edits.chunks_exact(3) {
        let raw = u16::from_le_bytes([e[0], e[1]]);
        let (op, pos) = (raw >> 14, usize::from(raw & 0x3fff));
        match op {
            1 => {
                let at = pos % (out.len() + 1);
                out.insert(at, e[2]);
            }
            2 if !out.is_empty() => {
                let at = pos % out.len();
                out.remove(at);
            }
            _ if !out.is_empty() => {
                let at = pos % out.len();
                out[at] = e[2];
            }
            _ => {}
        }
    }
    out
}
