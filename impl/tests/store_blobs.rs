//! Blob stores: ids, add/has/get/list on the memory and disk stores alike, the size limit, the
//! file layout, reopening, and a tampered blob file refused by `get`.

use ssb_impl::store::blobs::{blob_path, BlobId, Blobs, DiskBlobs, MemoryBlobs, MAX_BLOB_SIZE};
use ssb_impl::store::StoreError;

#[test]
fn blob_ids_print_and_parse() {
    let empty = BlobId::of(b"");
    assert_eq!(
        empty.to_string(),
        "&47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=.sha256"
    );
    assert_eq!(
        empty.hex(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(BlobId::parse(&empty.to_string()), Ok(empty));
    assert_eq!(empty.to_string().parse::<BlobId>(), Ok(empty));
    for bad in [
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=.sha256",
        "%47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=.sha256",
        "&47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=.sha512",
        "&47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        "&47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=.sha256",
        "&47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuF.sha256",
        "&47DEQpj8HBSa-_TImW+5JCeuQeRkm5NMpJWZG3hSuFU=.sha256",
        "&AAAA.sha256",
        "",
    ] {
        assert!(BlobId::parse(bad).is_err(), "{bad:?} parsed");
    }
}

fn exercise(b: &mut dyn Blobs) -> Vec<BlobId> {
    let datas: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"x".to_vec(),
        (0..=255u8).collect(),
        vec![0xA5; 1 << 20],
        vec![1; MAX_BLOB_SIZE],
    ];
    let mut ids = Vec::new();
    for d in &datas {
        let id = b.add(d).unwrap();
        assert_eq!(id, BlobId::of(d));
        assert_eq!(b.has(&id), Some(d.len() as u64));
        assert_eq!(b.get(&id).unwrap().as_ref(), Some(d));
        ids.push(id);
    }
    // Adding again changes nothing.
    let before = b.list();
    assert_eq!(b.add(b"x").unwrap(), ids[1]);
    assert_eq!(b.list(), before);
    match b.add(&vec![0; MAX_BLOB_SIZE + 1]) {
        Err(e @ StoreError::TooLarge { .. }) => assert_eq!(e.kind(), "too_large"),
        other => panic!("{other:?}"),
    }
    assert_eq!(b.list(), before);
    let unknown = BlobId([9; 32]);
    assert_eq!(b.has(&unknown), None);
    assert_eq!(b.get(&unknown).unwrap(), None);
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(b.list().into_iter().map(|(id, _)| id).collect::<Vec<_>>(), sorted);
    ids
}

#[test]
fn memory_and_disk_blobs_give_the_same_answers() {
    let mut mem = MemoryBlobs::new();
    let dir = tempfile::tempdir().unwrap();
    let mut disk = DiskBlobs::open(dir.path()).unwrap();
    let ids = exercise(&mut mem);
    assert_eq!(exercise(&mut disk), ids);
    assert_eq!(mem.list(), disk.list());
    // The layout: blobs/sha256/<2 hex>/<62 hex>.
    let empty = BlobId::of(b"");
    let path = dir
        .path()
        .join("blobs/sha256/e3/b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_eq!(blob_path(dir.path(), &empty), path);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    // Reopening lists the same blobs; a temporary file left by a crash is removed.
    let leftover = dir.path().join("blobs/tmp/abc.tmp");
    std::fs::write(&leftover, b"half a blob").unwrap();
    drop(disk);
    let disk = DiskBlobs::open(dir.path()).unwrap();
    assert_eq!(disk.list(), mem.list());
    assert!(!leftover.exists());
    for id in &ids {
        assert_eq!(disk.get(id).unwrap(), mem.get(id).unwrap());
    }
}

#[test]
fn a_tampered_blob_file_is_refused_by_get() {
    let dir = tempfile::tempdir().unwrap();
    let mut blobs = DiskBlobs::open(dir.path()).unwrap();
    let id = blobs.add(b"the original").unwrap();
    let other = blobs.add(b"another").unwrap();
    std::fs::write(blobs.path_of(&id), b"the 0riginal").unwrap();
    match blobs.get(&id) {
        Err(StoreError::Corrupt(why)) => assert!(why.contains(&id.to_string()), "{why}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(blobs.get(&other).unwrap().as_deref(), Some(&b"another"[..]));
    // A file grown past the limit is refused before it is read.
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(blobs.path_of(&other))
        .unwrap();
    f.set_len(MAX_BLOB_SIZE as u64 + 10).unwrap();
    assert_eq!(blobs.get(&other).unwrap_err().kind(), "corrupt");
    // A file that vanished.
    std::fs::remove_file(blobs.path_of(&id)).unwrap();
    assert_eq!(blobs.get(&id).unwrap_err().kind(), "corrupt");
}
