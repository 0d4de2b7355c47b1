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

/// Signed messages for store fixtures: `n` posts spread over two feeds (keys from seeds 1 and 2),
/// in an order a store accepts (each feed's sequences run 1, 2, 3...).
pub fn fixture_messages(n: u32) -> Vec<ssb_impl::store::StoredMsg> {
    use ssb_impl::legacy::message::sign_message;
    use ssb_impl::legacy::{to_signing_units, Object, Value};
    let keys = [
        ssb_impl::Keypair::from_seed([1; 32]),
        ssb_impl::Keypair::from_seed([2; 32]),
    ];
    let mut heads = [(None, 0u32); 2];
    let mut out = Vec::new();
    for k in 0..n {
        let a = [0, 1, 0, 0, 1][k as usize % 5];
        let (prev, seq) = heads[a];
        let mut content = Object::new();
        content.insert("type".into(), Value::string("post"));
        content.insert("text".into(), Value::string(&format!("message {k} ✓\n")));
        let ts = 1e12 + f64::from(k);
        let (o, id) = sign_message(&keys[a], prev, seq + 1, ts, Value::Object(content), None);
        let value = String::from_utf16(&to_signing_units(&Value::Object(o))).expect("UTF-16");
        out.push(ssb_impl::store::StoredMsg {
            id,
            author: keys[a].id(),
            sequence: u64::from(seq + 1),
            timestamp: ts,
            received: u64::from(k),
            value,
        });
        heads[a] = (Some(id), seq + 1);
    }
    out
}
